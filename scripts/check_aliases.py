"""Check a name-alias table: every group is sound, and its names occur in real news.

    python scripts/check_aliases.py [TABLE] [--posts POSTS_DIR]

TABLE is the bundled table (``searchengine/data/aliases.txt``) unless given.
An alias table is data that nobody reads closely once it is long, and a bad
group does quiet harm: a search for one name also finds another. So the table
is read with the library's own parser, one line at a time so that every bad
line is reported, not only the first, and checked for:

* errors (exit status 1): a line the parser rejects, such as a group whose
  forms are one form once normalized (歐巴馬 and 欧巴马 are one form), and a
  form that is in two groups;
* groups OpenCC's regional phrase tables already connect both ways
  (:func:`searchengine.variants.regional_forms`: 肯尼亚 and 肯亞): harmless,
  but the search finds those forms without the table.

With ``--posts``, every post under POSTS_DIR is read as the indexer reads it,
its title and body normalized, and the script prints how many posts hold each
form, found as the search finds it (Chinese anywhere, even inside a longer
word; Latin as a whole word), then the groups whose standard form no post
holds. Neither is an error, but both are worth a look: a form found in many
posts that should not hold it (強森 in 加强森林) is a form that does harm.

The last line sums up, for example::

    aliases: 550 groups, 1217 forms; 0 errors; 0 already in OpenCC; standard form found in 495 groups (74786 posts)
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from searchengine import load_post, walk_posts
from searchengine.aliases import BUNDLED_ALIASES, parse_aliases
from searchengine.analysis import is_cjk
from searchengine.cjk import WORD_SCRIPTS
from searchengine.errors import DocumentError, SearchEngineError
from searchengine.normalize import normalize
from searchengine.variants import regional_forms


@dataclass(frozen=True)
class Group:
    """One group of the table: its line, and its normalized forms, standard first."""

    line: int
    forms: tuple[str, ...]


def read_groups(text: str, source: str, errors: list[str]) -> list[Group]:
    """The groups of the table ``text``; each problem is appended to ``errors``."""
    groups: list[Group] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        try:
            # The blank lines before it make the parser's message name this line.
            table = parse_aliases("\n" * (number - 1) + line, source)
        except SearchEngineError as err:
            errors.append(str(err))
            continue
        for forms in table.groups:
            for form in forms:
                if form in seen:
                    errors.append(f"{source}:{number}: {form!r} is already in the group on line {seen[form]}")
                seen.setdefault(form, number)
            groups.append(Group(number, forms))
    if not errors:
        # What the library will do with it: the whole table must load.
        try:
            parse_aliases(text, source)
        except SearchEngineError as err:
            errors.append(str(err))
    return groups


def in_opencc(group: Group) -> bool:
    """Whether OpenCC's regional phrase tables lead from the standard form to each other form and back."""
    standard, *others = group.forms
    return all(form in regional_forms(standard) and standard in regional_forms(form) for form in others)


class Posts:
    """The normalized text of every post under a folder, searchable for a form."""

    def __init__(self, root: Path) -> None:
        texts: list[str] = []
        for path in walk_posts(root, on_error=self._skip):
            try:
                doc = load_post(path, root)
            except DocumentError as err:
                self._skip(err)
                continue
            texts.append(normalize(f"{doc.title}\n{doc.body}"))
        self.count = len(texts)
        # One string, the posts separated by a character no form holds; a match
        # belongs to the post whose start is the last one before it.
        self._text = "\0".join(texts)
        self._starts = [0, *itertools.accumulate(len(text) + 1 for text in texts[:-1])]

    @staticmethod
    def _skip(err: DocumentError) -> None:
        print(f"skipped: {err}", file=sys.stderr)

    def holding(self, form: str) -> int:
        """How many posts hold ``form``: a Chinese form anywhere, a Latin or digit one as a whole word."""
        pattern = re.escape(form)
        if not is_cjk(form):
            # Neither side a letter or digit of a spaced script. The look-behind
            # comes after the form, so that the search can start from its text.
            letter = rf"[^\W_{WORD_SCRIPTS}]"
            pattern = rf"{pattern}(?<!{letter}{pattern})(?!{letter})"
        found = re.finditer(pattern, self._text)
        return len({bisect.bisect_right(self._starts, match.start()) for match in found})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("table", nargs="?", type=Path, default=BUNDLED_ALIASES, metavar="TABLE")
    parser.add_argument("--posts", type=Path, metavar="POSTS_DIR", help="count each form in the posts in this folder")
    args = parser.parse_args(argv)
    try:
        text = args.table.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        parser.error(f"cannot read {args.table}: {err}")

    errors: list[str] = []
    groups = read_groups(text, str(args.table), errors)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    redundant = [group for group in groups if in_opencc(group)]
    for group in redundant:
        print(f"already in OpenCC: line {group.line}: {' '.join(group.forms)}")
    summary = (
        f"aliases: {len(groups)} groups, {sum(len(group.forms) for group in groups)} forms; "
        f"{len(errors)} errors; {len(redundant)} already in OpenCC"
    )

    if args.posts:
        try:
            posts = Posts(args.posts)
        except SearchEngineError as err:
            parser.error(str(err))
        missing: list[Group] = []
        print(f"posts holding each form, of {posts.count} posts under {args.posts}:")
        for group in groups:
            counts = {form: posts.holding(form) for form in group.forms}
            print(f"{group.line:>5}  " + "  ".join(f"{form} {count}" for form, count in counts.items()))
            if not counts[group.forms[0]]:
                missing.append(group)
        print(f"standard form in no post ({len(missing)} groups):")
        for group in missing:
            print(f"{group.line:>5}  {' '.join(group.forms)}")
        summary += f"; standard form found in {len(groups) - len(missing)} groups ({posts.count} posts)"

    print(summary)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
