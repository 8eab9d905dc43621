"""Forgiving search, through the library: regional forms, aliases, pinyin, same-sound slips, spacing.

Each test builds a real index of posts written for it, with real jieba,
OpenCC and pypinyin, and asks what a reader would type.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from searchengine import SearchEngine
from searchengine.errors import SearchEngineError
from searchengine.normalize import normalize
from searchengine.sounds import pinyin_of
from tooling import build, write_posts


def _post(title: str, body: str, day: int = 1) -> str:
    return f"---\ntitle: {title}\ndate: 2021-03-{day:02d} 10:00:00\ncategories: 国际\n---\n\n{body}\n"


# Many posts say 特朗普, 软件, 阿富汗 and 新西兰; a few say 川普 and 軟體 (as
# quoted from the Taiwan press); one says 阿富寒 where many say 阿富汗.
POSTS = {
    **{f"news/trump-{i}.md": _post(f"特朗普政府第{i}号声明", f"美国总统特朗普讲话。第{i}次。") for i in range(12)},
    "news/taiwan-trump.md": _post("台媒评论", "台湾媒体称川普将访问日本。"),
    **{f"news/software-{i}.md": _post(f"国产软件发展{i}", f"工业软件是制造业的核心。第{i}篇。") for i in range(6)},
    "news/taiwan-software.md": _post("台湾科技业", "台湾的軟體產業正在轉型。"),
    **{f"news/afghan-{i}.md": _post(f"阿富汗局势{i}", f"阿富汗问题莫斯科模式会议举行。第{i}次。") for i in range(25)},
    "news/typo.md": _post("一则短讯", "据报道阿富寒地区降雪。"),
    **{f"news/nz-{i}.md": _post(f"新西兰总理访华{i}", f"新西兰总理阿德恩抵达北京。第{i}天。") for i in range(4)},
    "news/kabulov.md": _post("俄特使谈阿富汗", "俄罗斯总统阿富汗问题特别代表卡布洛夫表示，会谈富有成果。"),
    "news/spaced.md": _post("工人伟大 劳动光荣", "中国记协举办新闻发布会，APEC 领导人会议即将召开。"),
    "news/travel.md": _post("旅游市场回暖", "假日旅游人数创新高。"),
    "news/apec.md": _post("APEC会议开幕", "APEC领导人非正式会议开幕，covid疫情与iPhone供应链受关注。"),
    **{f"news/data-{i}.md": _post(f"统计公报{i}", f"国家统计局发布数据，数据显示增长。第{i}期。") for i in range(3)},
    **{f"news/files-{i}.md": _post(f"档案馆{i}", f"档案资料对外开放。第{i}批。") for i in range(2)},
    # Same sounds, other tones or readings: 褒扬 (bāoyáng) beside commoner 保养 (bǎoyǎng);
    # 登盛 (Thein Sein) beside 得胜, which 登胜 could only mean through 登's rare reading de.
    "news/praise.md": _post("表彰大会", "大会褒扬先进集体。"),
    **{f"news/care-{i}.md": _post(f"汽车保养{i}", f"冬季汽车保养要点。第{i}条。") for i in range(3)},
    "news/myanmar.md": _post("缅甸总统", "缅甸总统登盛会见来宾。"),
    **{f"news/win-{i}.md": _post(f"比赛{i}", f"主队得胜归来。第{i}场。") for i in range(3)},
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> SearchEngine:
    root = tmp_path_factory.mktemp("forgiving")
    return SearchEngine(build(write_posts(root / "posts", POSTS), root / "index"))


def titles(engine: SearchEngine, query: str, **options: bool) -> list[str]:
    return [hit.title for hit in engine.search(query, limit=50, **options).hits]  # type: ignore[arg-type]


# --- regional forms and aliases ------------------------------------------------------


def test_a_taiwan_name_finds_the_mainland_form_and_says_so(engine: SearchEngine) -> None:
    result = engine.search("川普", limit=50)
    assert result.total == 13
    assert [(e.term, e.forms, e.source) for e in result.expansions] == [("川普", ["特朗普"], "alias")]
    # 特朗普 is far more common, so it ranks as the term itself; the hit shows the form it has.
    assert "<mark>特朗普</mark>" in result.hits[0].snippet.html
    taiwan = next(hit for hit in result.hits if hit.path == "news/taiwan-trump.md")
    assert "<mark>川普</mark>" in taiwan.snippet.html


def test_the_reverse_holds_and_the_typed_form_ranks_first_when_it_is_common(engine: SearchEngine) -> None:
    result = engine.search("特朗普", limit=50)
    assert result.total == 13
    assert result.hits[-1].path == "news/taiwan-trump.md"
    assert result.expansions[0].forms == ["川普"]


def test_a_quoted_phrase_stays_exact(engine: SearchEngine) -> None:
    result = engine.search('"川普"')
    assert [hit.path for hit in result.hits] == ["news/taiwan-trump.md"]
    assert not result.expansions and result.corrected is None


def test_taiwan_vocabulary_finds_mainland_posts_both_ways(engine: SearchEngine) -> None:
    for typed in ("軟體", "软体"):
        result = engine.search(typed, limit=50)
        assert result.total == 7, typed
        assert any(e.source == "regional" and "软件" in e.forms for e in result.expansions)
    assert engine.search("软件", limit=50).total == 7
    assert titles(engine, "紐西蘭")[:1] and all("新西兰" in t for t in titles(engine, "紐西蘭"))


def test_a_term_typed_in_traditional_reads_as_the_regional_word_it_is(engine: SearchEngine) -> None:
    """資料 is Taiwan's 数据; 资料, typed in simplified, is the mainland's word (files, materials)."""
    assert engine.search("資料", limit=50).hits[0].title.startswith("统计公报")
    assert engine.search("资料", limit=50).hits[0].title.startswith("档案馆")
    assert {hit.title[:3] for hit in engine.search("资料", limit=50).hits} == {"统计公", "档案馆"}


def test_an_exclusion_excludes_every_form(engine: SearchEngine) -> None:
    assert engine.search("美国 -川普").total == 0


def test_user_aliases_apply_at_the_next_search_without_a_rebuild(engine: SearchEngine, tmp_path: Path) -> None:
    table = tmp_path / "aliases.txt"
    table.write_text("# ours\n卡布洛夫 喀布洛夫\n", encoding="utf-8")
    mine = SearchEngine(engine.index_dir, aliases=table)
    assert [hit.path for hit in mine.search("喀布洛夫").hits] == ["news/kabulov.md"]
    table.write_text("卡布洛夫 卡氏\n", encoding="utf-8")
    os.utime(table, ns=(time.time_ns() + 10**9,) * 2)  # a new stamp even on a coarse clock
    assert [hit.path for hit in mine.search("卡氏").hits] == ["news/kabulov.md"]
    assert mine.search("喀布洛夫", correct=False).total == 0


def test_a_broken_alias_table_is_refused_naming_file_and_line(engine: SearchEngine, tmp_path: Path) -> None:
    table = tmp_path / "aliases.txt"
    table.write_text("特朗普 川普\n普京\n", encoding="utf-8")
    with pytest.raises(SearchEngineError, match=r"aliases\.txt:2: a group needs at least two"):
        SearchEngine(engine.index_dir, aliases=table)


# --- pinyin -----------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["kabuluofu", "ka bu luo fu", "kǎbùluòfū", "Kabuluofu", "ka3bu4luo4fu1"])
def test_pinyin_finds_the_name(engine: SearchEngine, typed: str) -> None:
    result = engine.search(typed)
    assert result.corrected == "卡布洛夫"
    assert [hit.path for hit in result.hits] == ["news/kabulov.md"]
    assert "<mark>卡布洛夫</mark>" in result.hits[0].snippet.html


def test_pinyin_of_a_name_no_word_list_has(engine: SearchEngine) -> None:
    """jieba reads 缅甸总统登盛会见 as 登/盛会/见: the name is spelled out from the index's characters."""
    result = engine.search("deng sheng")
    assert result.corrected == "登盛" and [hit.path for hit in result.hits] == ["news/myanmar.md"]


def test_pinyin_with_v_for_u_umlaut(engine: SearchEngine) -> None:
    assert engine.search("lvyou").corrected == "旅游"
    assert engine.search("lüyou").corrected == "旅游"


def test_pinyin_of_a_phrase_of_several_words(engine: SearchEngine) -> None:
    result = engine.search("mosikemoshi")
    assert result.corrected == "莫斯科模式" and result.total == 25


def test_tones_typed_choose_between_words_of_one_sound(engine: SearchEngine) -> None:
    assert engine.search("baoyang").corrected == "保养"
    assert engine.search("bāoyáng").corrected == "褒扬"
    assert engine.search("bao1 yang2").corrected == "褒扬"


def test_search_as_typed_when_asked(engine: SearchEngine) -> None:
    result = engine.search("kabuluofu", correct=False)
    assert result.total == 0 and result.corrected is None


@pytest.mark.parametrize("word", ["apec", "APEC", "covid", "iphone", "iPhone", "nba", "WTO"])
def test_english_words_and_acronyms_are_never_turned_into_chinese(engine: SearchEngine, word: str) -> None:
    assert pinyin_of(word) is None
    result = engine.search(word)
    assert result.corrected is None and result.did_you_mean is None


def test_completion_accepts_pinyin_prefixes(engine: SearchEngine) -> None:
    assert engine.suggest("afuhan")[:1] and all("阿富汗" in t for t in engine.suggest("afuhan"))


# --- same-sound slips -------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "meant"), [("阿富汉", "阿富汗"), ("卡布洛福", "卡布洛夫"), ("新西栏", "新西兰")])
def test_a_slip_found_nowhere_is_searched_as_corrected(engine: SearchEngine, typed: str, meant: str) -> None:
    result = engine.search(typed)
    assert result.corrected == meant
    assert result.total and all(meant in hit.title + normalize(hit.snippet.text) for hit in result.hits)


def test_a_slip_reads_as_its_usual_sound_first(engine: SearchEngine) -> None:
    assert engine.search("登胜").corrected == "登盛"


def test_a_rare_term_is_kept_and_the_common_one_offered(engine: SearchEngine) -> None:
    result = engine.search("阿富寒")
    assert result.corrected is None
    assert [hit.path for hit in result.hits] == ["news/typo.md"]
    assert result.did_you_mean == "阿富汗"


def test_a_correction_keeps_the_rest_of_the_query(engine: SearchEngine) -> None:
    result = engine.search("阿富汉 -莫斯科 category:国际")
    assert result.corrected == "阿富汗 -莫斯科 category:国际"
    assert result.total == 1 and result.hits[0].path == "news/kabulov.md"


def test_a_query_found_as_typed_is_never_replaced(engine: SearchEngine) -> None:
    for query in ("阿富汗", "旅游", "工业软件", "APEC"):
        result = engine.search(query)
        assert result.total and result.corrected is None, query


# --- spacing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ('"中国 记协"', "news/spaced.md"),
        ('"工人伟大劳动光荣"', "news/spaced.md"),
        ('"工人伟大 劳动光荣"', "news/spaced.md"),
        ('"APEC领导人"', "news/spaced.md"),
        ('"APEC 领导人"', "news/apec.md"),
    ],
)
def test_spaces_beside_chinese_do_not_matter(engine: SearchEngine, query: str, path: str) -> None:
    found = [hit.path for hit in engine.search(query).hits]
    assert path in found and set(found) == {"news/spaced.md", "news/apec.md"} & set(found)


def test_a_spaced_title_is_highlighted_as_one_span(engine: SearchEngine) -> None:
    hit = engine.search('"工人伟大劳动光荣"').hits[0]
    assert hit.title_highlight.html == "<mark>工人伟大 劳动光荣</mark>"


def test_latin_words_and_paragraphs_still_separate(tmp_path: Path) -> None:
    posts = write_posts(
        tmp_path / "posts",
        {"a.md": _post("甲", "apple pie 与 applepie"), "b.md": _post("乙", "中国\n\n记协在另一段")},
    )
    engine = SearchEngine(build(posts, tmp_path / "index"))
    assert engine.search('"applepie"').total == 1
    assert engine.search('"apple pie"').total == 1
    assert engine.search('"中国记协"', correct=False).total == 0


# --- hostile input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        *("a" * 500, "zhong" * 100, "中" * 500, "阿富汉" * 100, "ka bu " * 80),
        *("kabuluofu阿富汉apec", "😀😀 kabuluofu 😀", "¨ü:ǖ", "xi'an'"),
    ],
)
def test_hostile_queries_are_answered(engine: SearchEngine, query: str) -> None:
    result = engine.search(query)
    assert result.total >= 0
    assert result.corrected is None or len(result.corrected) <= 500


def test_a_quoted_slip_is_offered_never_replaced(engine: SearchEngine) -> None:
    result = engine.search('"阿富汉"')
    assert result.total == 0 and result.corrected is None and result.did_you_mean == '"阿富汗"'
    result = engine.search('"莫斯科模式" 阿富汉')
    assert result.corrected == '"莫斯科模式" 阿富汗' and result.total == 25
    result = engine.search('"新西栏" 阿富汉')  # the unquoted fix alone finds nothing: both are offered
    assert result.corrected is None and result.did_you_mean == '"新西兰" 阿富汗'


def test_syllables_that_each_occur_but_not_together_are_read_as_pinyin(tmp_path: Path) -> None:
    posts = write_posts(
        tmp_path / "posts",
        {
            "a.md": _post("旅游", "假日旅游人数创新高。"),
            "b.md": _post("甲", "品牌 lv 出现一次。"),
            "c.md": _post("乙", "单词 you 出现一次。"),
        },
    )
    engine = SearchEngine(build(posts, tmp_path / "index"))
    assert engine.search("lv you").corrected == "旅游"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("B肝疫苗", "乙肝疫苗"), ("美國密芝根大學", "美国密歇根大学")],
)
def test_regional_phrases_with_latin_letters_and_hong_kong_names(tmp_path: Path, typed: str, meant: str) -> None:
    posts = write_posts(tmp_path / "posts", {"a.md": _post("新闻", f"{meant}相关消息。")})
    result = SearchEngine(build(posts, tmp_path / "index")).search(typed)
    assert result.total == 1 and result.expansions[0].forms == [meant]
