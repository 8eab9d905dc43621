"""The query language, parsed with the real analyzer (no index needed)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from searchengine.analysis import AnalysisSettings, analyzer_for
from searchengine.engine import SearchEngine
from searchengine.query import (
    Element,
    ParsedQuery,
    broader_queries,
    has_phrase,
    parse_query,
    plain_words,
    without_filter,
)

ANALYZER = analyzer_for(AnalysisSettings.from_dict_file())
SHANGHAI = ZoneInfo("Asia/Shanghai")


def parse(text: str) -> ParsedQuery:
    return parse_query(text, ANALYZER)


def clauses(parsed: ParsedQuery) -> list[list[tuple[str, bool]]]:
    return [[(c.text, c.quoted) for c in group.clauses] for group in parsed.groups]


def test_terms_phrases_or_and_exclusions() -> None:
    parsed = parse('阿富汗 "莫斯科模式" 中国 OR 俄罗斯 -美国')
    assert clauses(parsed) == [[("阿富汗", False)], [("莫斯科模式", True)], [("中国", False), ("俄罗斯", False)]]
    assert [c.text for c in parsed.excluded] == ["美国"]
    assert parsed.hints == []


def test_and_and_not_in_capitals_work_as_in_other_engines() -> None:
    """AND between terms is a space; NOT before a term (or a filter) excludes it; elsewhere they are words."""
    assert clauses(parse("阿富汗 AND 塔利班")) == clauses(parse("阿富汗 塔利班"))
    parsed = parse("中国 NOT 美国 NOT category:体育")
    assert clauses(parsed) == [[("中国", False)]]
    assert [c.text for c in parsed.excluded] == ["美国"] and parsed.filters.exclude == {"category": {"体育"}}
    assert clauses(parse("中国 OR 俄罗斯 AND 合作")) == [[("中国", False), ("俄罗斯", False)], [("合作", False)]]
    # First, last, quoted or in lower case they are plain words.
    words = [[("and", False)], [("合作", False)], [("not", True)], [("not", False)]]
    assert clauses(parse('AND 合作 "NOT" not')) == words
    assert [h.code for h in parse("NOT 美国").hints] == ["only_exclusions"]


def test_and_and_not_find_what_their_equivalents_find(sample_engine: SearchEngine) -> None:
    assert sample_engine.all_paths("阿富汗 AND 塔利班") == sample_engine.all_paths("阿富汗 塔利班") != []
    assert sample_engine.all_paths("经济 NOT 中国") == sample_engine.all_paths("经济 -中国") != []


def test_without_filter_removes_the_filters_typed_for_one_facet() -> None:
    assert without_filter("经济 category:国际 year:2021 category:社会", "category") == "经济 year:2021"
    assert without_filter("经济 -category:国际", "category") == "经济 -category:国际"
    assert without_filter('category:"国 际" 经济', "category") == "经济"


def test_a_term_repeated_is_searched_once() -> None:
    assert clauses(parse("阿富汗 阿富汗 阿富汗 "*40)) == [[("阿富汗", False)]]
    assert len(parse('阿富汗 "阿富汗" 阿富汗').groups) == 2


def test_chinese_and_full_width_syntax() -> None:
    parsed = parse("“莫斯科模式” ｔｉｔｌｅ：卡布洛夫 －美国 ＯＲ")
    assert clauses(parsed)[0] == [("莫斯科模式", True)]
    assert parsed.groups[1].clauses[0].title_only and parsed.groups[1].clauses[0].text == "卡布洛夫"
    assert [c.text for c in parsed.excluded] == ["美国"]
    assert [h.code for h in parsed.hints] == ["or_without_term"]


def test_traditional_and_full_width_text_is_normalized() -> None:
    assert clauses(parse("習近平 ＡＰＥＣ")) == [[("习近平", False)], [("apec", False)]]


def test_an_unquoted_run_has_its_words_a_quoted_one_none() -> None:
    run = parse("莫斯科模式").groups[0].clauses[0]
    assert run.words == ("莫斯科模式",)
    scattered = parse("数字经济").groups[0].clauses[0]
    assert scattered.words == ("数字", "经济")
    assert parse('"数字经济"').groups[0].clauses[0].words == ()


@pytest.mark.parametrize(
    ("text", "elements"),
    [
        ("莫斯科模式", [("莫斯",), ("斯科",), ("科模",), ("模式",)]),
        ("中", [("中",)]),
        ("2024年", [("20",), ("02",), ("24",), ("4年",)]),
        ("问题，年", [("问题",), ("题",), ("^年", "年")]),
        ("年，问题", [("年",), ("问题",)]),
    ],
)
def test_character_layer_elements(text: str, elements: list[tuple[str, ...]]) -> None:
    clause = parse(text).groups[0].clauses[0]
    assert [e.terms for e in clause.elements] == elements
    assert clause.elements[0].prefix == (text == "中")


def test_punctuation_inside_a_quoted_phrase_is_verified() -> None:
    assert parse('"阿富汗，塔利班"').groups[0].clauses[0].verify
    assert parse('"《政府工作报告》"').groups[0].clauses[0].text == "《政府工作报告》"
    assert not parse('"阿富汗塔利班"').groups[0].clauses[0].verify
    assert not parse("阿富汗，塔利班").groups[0].clauses[0].verify


def test_field_filters_are_normalized() -> None:
    parsed = parse("category:國際 author:观察者网 tag:一带一路 -category:体育 经济")
    assert parsed.filters.include == {"category": {"国际"}, "author": {"观察者网"}, "tag": {"一带一路"}}
    assert parsed.filters.exclude == {"category": {"体育"}}
    assert clauses(parsed) == [[("经济", False)]]


def test_every_facet_is_a_field_of_the_syntax() -> None:
    parsed = parse("year:2021 -year:2019 经济")
    assert parsed.filters.include == {"year": {"2021"}} and parsed.filters.exclude == {"year": {"2019"}}
    bad = parse("year:二〇二一 经济")
    assert bad.filters.is_empty()
    assert [(h.code, h.params) for h in bad.hints] == [("not_a_value", {"field": "year", "value": "二〇二一"})]
    assert bad.hints[0].text == "year:二〇二一 is not a valid value for year; it was ignored"


def _epoch(year: int, month: int, day: int) -> int:
    return int(datetime(year, month, day, tzinfo=SHANGHAI).timestamp())


def test_dates() -> None:
    assert (parse("date:2021-10").filters.after, parse("date:2021-10").filters.before) == (
        _epoch(2021, 10, 1),
        _epoch(2021, 11, 1),
    )
    assert (parse("date:2021").filters.after, parse("date:2021").filters.before) == (
        _epoch(2021, 1, 1),
        _epoch(2022, 1, 1),
    )
    both = parse("after:2021-01-01 before:2021-12-31")
    assert (both.filters.after, both.filters.before) == (_epoch(2021, 1, 1), _epoch(2021, 12, 31))
    december = parse("date:2021-12")
    assert december.filters.before == _epoch(2022, 1, 1)
    bad = parse("date:2021-13 经济")
    assert bad.filters.after is None and [h.code for h in bad.hints] == ["not_a_date"]
    assert bad.hints[0].params == {"field": "date", "value": "2021-13"}


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ('"莫斯科模式', "unbalanced_quote"),
        ("OR 经济", "or_without_term"),
        ("！？。", "nothing_searchable"),
        ("阿" * 600, "shortened"),
        ("-美国", "only_exclusions"),
    ],
)
def test_problems_become_hints(text: str, hint: str) -> None:
    assert hint in [h.code for h in parse(text).hints]


@pytest.mark.parametrize(
    ("query", "broader", "words"),
    [
        ('"莫斯科模式" 塔利班', ["莫斯科模式 塔利班", "莫斯科模式", "塔利班"], ["莫斯科模式", "塔利班"]),
        ("经济", [], ["经济"]),
        ('“中国 记协” -美国 category:国际', ["中国 记协 -美国 category:国际", "中国", "记协"], ["中国", "记协"]),
        ("阿富汗 OR 塔利班 date:2021", ["阿富汗", "塔利班"], ["阿富汗", "塔利班"]),
    ],
)
def test_broader_queries_and_plain_words(query: str, broader: list[str], words: list[str]) -> None:
    assert broader_queries(query) == broader
    assert plain_words(query) == words
    assert has_phrase(query) == ('"' in query or "“" in query)


def test_control_characters_are_dropped() -> None:
    assert clauses(parse("经\x00济\x1b\t发展")) == [[("经济", False)], [("发展", False)]]


def _found(pattern: re.Pattern[str], text: str) -> str:
    """What ``pattern`` first matches in ``text``, where it must match."""
    match = pattern.search(text)
    assert match is not None, (pattern.pattern, text)
    return match.group()


def test_needles_mark_the_whole_string_and_its_words() -> None:
    needles = parse("莫斯科模式").needles()
    assert _found(needles[0].pattern, "在莫斯科模式下") == "莫斯科模式"
    assert Element(("莫斯",)) == parse("莫斯").groups[0].clauses[0].elements[0]
    latin = parse("apec 5g网络").needles()
    assert _found(latin[0].pattern, "亚太apec会议") == "apec"
    assert _found(latin[1].pattern, "推进5g网络建设") == "5g网络"
