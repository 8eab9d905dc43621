"""The bundled name-alias table (``searchengine/data/aliases.txt``) as data.

The parser has its own tests; these are about what the file holds: enough
groups, each sound by ``scripts/check_aliases.py``, standard forms as the
mainland writes them, and names that the real news archive really uses.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from searchengine import walk_posts
from searchengine.aliases import BUNDLED_ALIASES, bundled_aliases
from searchengine.normalize import normalize

CHECKER = Path(__file__).resolve().parents[1] / "scripts" / "check_aliases.py"
SUMMARY = re.compile(r"^aliases: (\d+) groups, (\d+) forms; (\d+) errors; (\d+) already in OpenCC", re.MULTILINE)

#: Standard forms of names in the news year after year: the 2019 news must hold each.
WELL_KNOWN = ("特朗普", "普京", "默克尔", "马克龙", "内塔尼亚胡", "古特雷斯", "世界卫生组织", "世界贸易组织")


def check_aliases(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``scripts/check_aliases.py`` on the bundled table."""
    return subprocess.run([sys.executable, str(CHECKER), *args], capture_output=True, text=True, check=False)


def standard_forms() -> list[str]:
    """The first form of each group, as written in the file."""
    lines = BUNDLED_ALIASES.read_text(encoding="utf-8").splitlines()
    return [line.split()[0] for line in lines if line.strip() and not line.startswith("#")]


def test_the_table_is_broad() -> None:
    assert len(bundled_aliases()) >= 400


def test_the_checker_finds_no_error_and_nothing_opencc_already_does() -> None:
    result = check_aliases()
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    found = SUMMARY.search(result.stdout)
    assert found is not None, result.stdout
    groups, forms, errors, in_opencc = map(int, found.groups())
    assert (groups, errors, in_opencc) == (len(bundled_aliases()), 0, 0)
    assert forms == sum(len(group) for group in bundled_aliases().groups)


def test_standard_forms_are_simplified_and_first() -> None:
    written = standard_forms()
    assert [form for form in written if normalize(form) != form] == []
    assert [group[0] for group in bundled_aliases().groups] == written


def test_no_form_is_one_character() -> None:
    assert [form for group in bundled_aliases().groups for form in group if len(form) < 2] == []


@pytest.mark.corpus
def test_well_known_names_occur_in_the_2019_news(corpus_2019: Path) -> None:
    table = bundled_aliases()
    assert [name for name in WELL_KNOWN if (table.group_of(name) or ("",))[0] != name] == []

    result = check_aliases("--posts", str(corpus_2019))
    assert result.returncode == 0, result.stderr
    *_, missing_part = result.stdout.partition("standard form in no post")
    *missing, summary = missing_part.splitlines()[1:]
    assert {line.split()[1] for line in missing}.isdisjoint(WELL_KNOWN)
    assert summary.endswith(f"({sum(1 for _ in walk_posts(corpus_2019))} posts)")
