"""The accelerator (rjieba) finds exactly jieba's words: on texts where the two differ when left alone, and on
the shared corpus (scripts/check_segmenter.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from searchengine import segmenter
from searchengine.analysis import AnalysisSettings, analyzer_for
from searchengine.segmenter import ACCELERATOR_ENV, Segmenter
from tooling import in_fresh_process

rjieba = pytest.importorskip("rjieba", reason="the accelerator (searchengine[fast]) is not installed")

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_segmenter.py"

#: Texts where rjieba on its own cuts otherwise than jieba (the first ones), or where block boundaries,
#: user-dictionary words and characters outside jieba's blocks must come out the same.
TEXTS = [
    "2016-2020年军队高中级干部学习规划",
    "俄国防部接收今年第二批s-400系统，x-47b也首次完成弹射起飞",
    "登录www.mohrss.gov.cn查询，变异新冠病毒b.1.617在印度传播，数据从2.3zb增长至6.6zb",
    "电话:0082-10-6576-8838。C++与C#，R&D占比12.5%，snake_case",
    "卡布洛夫会见拉夫罗夫，谈一带一路与碳达峰、碳中和",
    "我们中出了一个叛徒\n\n  他说：“你好！” 然后\r\n离开",
    "カタカナとひらがな，한국어，café，㐀㐁 与 龥鿕鿖 以及 𠀀",
    "",
    "   ",
    "G20峰会在杭州举行，APEC第26次领导人非正式会议",
]


@pytest.fixture(scope="module")
def segmenters() -> tuple[Segmenter, Segmenter]:
    """jieba alone and accelerated, over one jieba with our user dictionary."""
    analyzer = analyzer_for(AnalysisSettings.from_dict_file())
    analyzer.warm_up()
    tokenizer = analyzer._jieba
    return Segmenter(tokenizer, accelerate=False), Segmenter(tokenizer, accelerate=True)


@pytest.mark.parametrize("text", TEXTS)
def test_the_accelerator_finds_jiebas_words(segmenters: tuple[Segmenter, Segmenter], text: str) -> None:
    slow, fast = segmenters
    assert fast.accelerated and not slow.accelerated
    assert list(fast.tokenize(text)) == list(slow.tokenize(text))
    assert fast.cut(text) == list(slow._tokenizer.cut(text))


def test_pieces_left_to_jieba_keep_their_words_when_met_again(segmenters: tuple[Segmenter, Segmenter]) -> None:
    """The pieces jieba cuts (punctuation, 2016-2020, 12.5%) are kept per segmenter: met again, in
    other texts, they give jieba's words still."""
    slow, fast = segmenters
    texts = [*TEXTS, "，".join(TEXTS), "。".join(reversed(TEXTS)), "2016-2020与12.5%，2016-2020。"]
    for text in texts + texts:
        assert fast.cut(text) == list(slow._tokenizer.cut(text))


def test_rjieba_alone_would_differ_where_jieba_keeps_the_block() -> None:
    """Why blocks with - . + and so on stay with jieba: rjieba's own cut keeps 2016-2020 whole."""
    assert rjieba.cut("2016-2020年") != ["2016", "-", "2020", "年"]


def test_user_dictionary_words_reach_the_accelerator(segmenters: tuple[Segmenter, Segmenter]) -> None:
    _, fast = segmenters
    assert "卡布洛夫" in fast.cut("外长卡布洛夫表示")


def test_the_environment_turns_the_accelerator_off(
    segmenters: tuple[Segmenter, Segmenter], monkeypatch: pytest.MonkeyPatch
) -> None:
    slow, _ = segmenters
    monkeypatch.setenv(ACCELERATOR_ENV, "0")
    assert not Segmenter(slow._tokenizer).accelerate()
    monkeypatch.setenv(ACCELERATOR_ENV, "1")
    assert Segmenter(slow._tokenizer).accelerate()


def test_a_segmenter_accelerates_once_it_pays_off(segmenters: tuple[Segmenter, Segmenter]) -> None:
    """rjieba's copy of the dictionary costs half a second: not for a query, but after enough text."""
    slow, _ = segmenters
    lazy = Segmenter(slow._tokenizer)
    text = "，".join(TEXTS)
    cut = 0
    while cut <= segmenter._ACCELERATE_AFTER:
        assert not lazy.accelerated
        assert lazy.cut(text) == slow.cut(text)
        cut += len(text)
    assert lazy.cut(text) == slow.cut(text)
    assert lazy.accelerated


def test_a_small_build_and_a_query_leave_jieba_unaccelerated(sample_posts: Path, tmp_path: Path) -> None:
    """In a fresh process, as a CLI command runs: a few posts, or a search, never pay for the copy."""
    code = (
        "import sys\n"
        "from searchengine import SearchEngine\n"
        "from searchengine.analysis import _ANALYZERS\n"
        "from searchengine.indexer import BuildOptions, build_index\n"
        "report = build_index(sys.argv[1], sys.argv[2], BuildOptions(workers=1))\n"
        "engine = SearchEngine(sys.argv[2])\n"
        "engine.warm_up()\n"
        "assert engine.search('习近平').total > 0\n"
        "print(report.added, *(analyzer._segmenter.accelerated for analyzer in _ANALYZERS.values()))\n"
    )
    added, *accelerated = in_fresh_process(code, sample_posts, tmp_path / "index")[0].split()
    assert 20 < int(added) < 200 and accelerated == ["False"]


@pytest.mark.corpus
def test_same_words_on_the_2019_slice(corpus_2019: Path) -> None:
    """Every third post of the 2019 slice (about 2,000 posts): no text is cut differently."""
    run = subprocess.run(
        [sys.executable, str(SCRIPT), str(corpus_2019), "--every", "3"], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert " posts, " in run.stdout and ": 0 texts differ;" in run.stdout, run.stdout
