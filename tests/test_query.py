"""The query language, parsed with the real analyzer (no index needed)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from searchengine.analysis import AnalysisSettings, analyzer_for
from searchengine.query import Element, ParsedQuery, parse_query

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


def test_chinese_and_full_width_syntax() -> None:
    parsed = parse("“莫斯科模式” ｔｉｔｌｅ：卡布洛夫 －美国 ＯＲ")
    assert clauses(parsed)[0] == [("莫斯科模式", True)]
    assert parsed.groups[1].clauses[0].title_only and parsed.groups[1].clauses[0].text == "卡布洛夫"
    assert [c.text for c in parsed.excluded] == ["美国"]
    assert any("OR" in h for h in parsed.hints)


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
    assert parsed.filters.categories == ["国际"]
    assert parsed.filters.authors == ["观察者网"]
    assert parsed.filters.tags == ["一带一路"]
    assert parsed.filters.not_categories == ["体育"]
    assert clauses(parsed) == [[("经济", False)]]


def _epoch(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=SHANGHAI).timestamp())


def test_dates() -> None:
    assert (parse("date:2021-10").filters.after, parse("date:2021-10").filters.before) == (_epoch(2021, 10, 1), _epoch(2021, 11, 1))
    assert (parse("date:2021").filters.after, parse("date:2021").filters.before) == (_epoch(2021, 1, 1), _epoch(2022, 1, 1))
    both = parse("after:2021-01-01 before:2021-12-31")
    assert (both.filters.after, both.filters.before) == (_epoch(2021, 1, 1), _epoch(2021, 12, 31))
    december = parse("date:2021-12")
    assert december.filters.before == _epoch(2022, 1, 1)
    bad = parse("date:2021-13 经济")
    assert bad.filters.after is None and any("not a date" in h for h in bad.hints)


@pytest.mark.parametrize(
    ("text", "hint"),
    [('"莫斯科模式', "unbalanced quote"), ("OR 经济", "OR needs"), ("！？。", "no searchable"), ("阿" * 600, "shortened"), ("-美国", "only exclusions")],
)
def test_problems_become_hints(text: str, hint: str) -> None:
    assert any(hint in h for h in parse(text).hints)


def test_control_characters_are_dropped() -> None:
    assert clauses(parse("经\x00济\x1b\t发展")) == [[("经济", False)], [("发展", False)]]


def test_needles_mark_the_whole_string_and_its_words() -> None:
    needles = parse("莫斯科模式").needles()
    assert needles[0].pattern.search("在莫斯科模式下").group() == "莫斯科模式"
    assert Element(("莫斯",)) == parse("莫斯").groups[0].clauses[0].elements[0]
    latin = parse("apec 5g网络").needles()
    assert latin[0].pattern.search("亚太apec会议").group() == "apec"
    assert latin[1].pattern.search("推进5g网络建设").group() == "5g网络"
