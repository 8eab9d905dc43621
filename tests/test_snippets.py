"""Snippets and title highlighting (searchengine.snippets).

The texts are real-looking news paragraphs written for these tests. The
assertions are about properties a reader relies on — the match is in the
snippet and marked whole, the cut falls at a sentence end, the HTML is safe —
rather than about one exact snippet string.
"""

from __future__ import annotations

import html
import re

import pytest

from searchengine.errors import ParameterError
from searchengine.normalize import normalize
from searchengine.snippets import Needle, Snippet, highlight, make_snippet

SENTENCE_ENDS = "。！？；!?;\n"

MOSCOW = "\n".join(
    [
        "【文/本报记者】财政冻结、缺乏国际认可、极端组织袭击不断、寒冷冬季即将来临，塔利班夺取阿富汗政权两个月，国内局势依旧混乱。",
        "为了应对阿富汗问题，“阿富汗问题莫斯科会谈”于10月20日在莫斯科举行，包括中俄在内10个地区国家的代表与会，但美国以“后勤问题”为由缺席了会议。",
        "综合塔斯社、美联社（AP）、央视新闻客户端等多方面消息，阿富汗问题“莫斯科模式”第三次会议于当地时间10月20日举行，来自俄罗斯、中国、巴基斯坦、伊朗、印度等10个国家的代表参加了会议。",
        "俄外长拉夫罗夫当天在会议中表示，阿富汗政权变换已成为既定事实。在阿富汗局势发生根本性改变后，指责谁该为局势负责已经毫无意义。",
        "拉夫罗夫呼吁国际社会与阿富汗现任政府接触，尤其是在该国正努力应对严重人道主义危机的情况下。",
        "俄罗斯驻阿富汗特使卡布洛夫也参加了会谈。他说，国际社会是否承认塔利班，将取决于他们政府的包容性和人权记录。卡布洛夫表示，他只能“等等再看”。",
        "另据报道，塔利班代表团在莫斯科模式会议结束后参加了与俄罗斯、中国和巴基斯坦特别代表举行的会议，各方商定在银行资产解冻问题上互相配合。",
    ]
)

# Sentences with none of the words the tests look for, to pad long texts.
FILLER = [
    "今年以来，全市新建改建公园二十余处，市民休闲空间明显增加。",
    "气象部门提醒，未来三天本地将有一次明显降温过程，请注意添衣保暖。",
    "据统计，上半年全省规模以上工业增加值同比增长百分之六点二。",
    "该校图书馆延长开放时间，方便学生在考试周期间自习。",
    "铁路部门表示，春运期间将加开临时旅客列车，满足返乡需求。",
    "专家建议，老年人运动应循序渐进，避免剧烈活动。",
]


def needle(literal: str, weight: float = 1.0) -> Needle:
    """A needle for a literal string, written the way the query side writes it: normalized."""
    return Needle(re.compile(re.escape(normalize(literal))), weight)


def filler(count: int, start: int = 0) -> str:
    """``count`` filler sentences, one paragraph per three sentences."""
    sentences = [FILLER[(start + i) % len(FILLER)] for i in range(count)]
    return "\n".join("".join(sentences[i : i + 3]) for i in range(0, count, 3))


def marked(snippet: Snippet) -> list[str]:
    """The texts between <mark> tags, unescaped."""
    return [html.unescape(found) for found in re.findall(r"<mark>(.*?)</mark>", snippet.html)]


def body(snippet: Snippet) -> str:
    """The snippet text without its ellipses."""
    return snippet.text.removeprefix("…").removesuffix("…")


def assert_consistent(snippet: Snippet) -> None:
    """Spans, text and HTML agree, and the text has no stray whitespace."""
    spans = snippet.spans
    assert all(0 <= start < end <= len(snippet.text) for start, end in spans)
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False)), "sorted, apart, not touching"
    assert marked(snippet) == [snippet.text[start:end] for start, end in spans]
    unmarked = snippet.html.replace("<mark>", "").replace("</mark>", "")
    assert html.unescape(unmarked) == snippet.text
    assert html.escape(snippet.text) == unmarked
    assert snippet.text == snippet.text.strip()
    assert "\n" not in snippet.text and not re.search(r"\s\s", snippet.text)


def source_position(text: str, snippet: Snippet) -> int:
    """Where the snippet's body starts in ``text`` with its whitespace collapsed the same way."""
    collapsed = " ".join(text.split())
    position = collapsed.find(body(snippet))
    assert position >= 0, "the snippet is a piece of the text"
    return position


@pytest.mark.parametrize("name", ["莫斯科模式", "卡布洛夫", "拉夫罗夫"])
def test_a_needle_is_marked_whole(name: str) -> None:
    snippet = make_snippet(MOSCOW, [needle(name)])
    assert_consistent(snippet)
    assert marked(snippet)
    assert set(marked(snippet)) == {name}
    assert f"<mark>{name}</mark>" in snippet.html


def test_a_word_is_never_split_by_a_needle_inside_it() -> None:
    for needles in ([needle("美联社")], [needle("美联社"), needle("联社")], [needle("联社"), needle("美联社")]):
        snippet = make_snippet(MOSCOW, needles)
        assert_consistent(snippet)
        assert "<mark>美联社</mark>" in snippet.html
        assert "美<mark>" not in snippet.html


def test_overlapping_needles_give_one_span_the_longer_match() -> None:
    for needles in ([needle("莫斯科"), needle("莫斯科模式", 3.0)], [needle("莫斯科模式", 3.0), needle("莫斯科")]):
        snippet = make_snippet(MOSCOW, needles)
        assert_consistent(snippet)
        assert "<mark>莫斯科模式</mark>" in snippet.html
        assert "</mark>模式" not in snippet.html
        assert set(marked(snippet)) <= {"莫斯科", "莫斯科模式"}
    title = highlight("莫斯科模式会议在莫斯科举行", [needle("莫斯科"), needle("莫斯科模式")])
    assert title.spans == ((0, 5), (8, 11))


def test_partly_overlapping_and_touching_matches_merge() -> None:
    overlapping = highlight("综合美联社报道", [needle("美联"), needle("联社")])
    assert overlapping.html == "综合<mark>美联社</mark>报道"
    touching = highlight("阿富汗问题会谈", [needle("阿富汗"), needle("问题")])
    assert touching.html == "<mark>阿富汗问题</mark>会谈"
    assert touching.spans == ((0, 5),)


def test_traditional_text_is_found_and_its_own_characters_marked() -> None:
    text = "國家主席習近平在北京人民大會堂會見來訪的外國領導人。雙方就雙邊關係交換了意見。"
    snippet = make_snippet(text, [needle("习近平")])
    assert_consistent(snippet)
    assert marked(snippet) == ["習近平"]
    assert snippet.text == text  # a short text is shown whole, in its own script


def test_full_width_latin_is_found_by_its_ascii_needle() -> None:
    apec = Needle(re.compile(r"(?<![a-z0-9])apec(?![a-z0-9])"))
    snippet = make_snippet("亚太经合组织（ＡＰＥＣ）领导人非正式会议在利马举行。Apec 成员表示欢迎。", [apec])
    assert_consistent(snippet)
    assert marked(snippet) == ["ＡＰＥＣ", "Apec"]


def test_lookarounds_in_patterns_are_honoured() -> None:
    apec = Needle(re.compile(r"(?<![a-z0-9])apec(?![a-z0-9])"))
    assert highlight("APECS 与 xAPEC 不是 APEC", [apec]).html == "APECS 与 xAPEC 不是 <mark>APEC</mark>"


def test_a_character_that_expands_is_marked_whole() -> None:
    # NFKC turns the ligature ﬁ into "fi": a match of "f" alone must still mark a real character.
    assert highlight("ﬁnance", [Needle(re.compile("f"))]).html == "<mark>ﬁ</mark>nance"
    assert highlight("ﬁnance", [Needle(re.compile("fin"))]).html == "<mark>ﬁn</mark>ance"


def test_zero_length_matches_are_ignored() -> None:
    needles = [Needle(re.compile("(?=莫斯科)")), Needle(re.compile("x*"))]
    snippet = make_snippet(MOSCOW, needles)
    assert snippet.spans == ()
    assert snippet.html == html.escape(snippet.text)
    assert snippet.text.startswith("【文/本报记者】")  # as if nothing matched


def test_the_densest_window_in_the_middle_wins_and_shows_both_parts() -> None:
    early = "卡布洛夫在记者会上发言。卡布洛夫说，会谈气氛良好。卡布洛夫还回答了提问。"
    middle = "会谈结束后，拉夫罗夫与卡布洛夫共同会见记者，介绍会议成果。"
    text = "\n".join([filler(9), early, filler(12, 1), middle, filler(12, 2)])
    snippet = make_snippet(text, [needle("拉夫罗夫"), needle("卡布洛夫")])
    assert_consistent(snippet)
    assert {"拉夫罗夫", "卡布洛夫"} <= set(marked(snippet))
    assert middle in body(snippet)
    assert 0.6 * 120 <= len(body(snippet)) <= 1.3 * 120


def test_the_whole_query_outweighs_a_repeated_word() -> None:
    text = "\n".join(
        [
            filler(6),
            "模式一：单独试点。模式二：全面推开。模式三：分区推进。模式四：暂缓实施。",
            filler(6, 3),
            "专家认为，莫斯科模式为地区国家提供了对话平台。",
            filler(6, 4),
        ]
    )
    snippet = make_snippet(text, [needle("莫斯科模式", 3.0), needle("莫斯科"), needle("模式")])
    assert "莫斯科模式" in marked(snippet)


def test_the_snippet_is_cut_at_sentence_ends() -> None:
    text = filler(30)
    collapsed = " ".join(text.split())
    for word in ("铁路部门", "满足返乡需求", "循序渐进", "百分之六点二"):
        snippet = make_snippet(text, [needle(word)])
        assert_consistent(snippet)
        start = source_position(text, snippet)
        assert start == 0 or collapsed[start - 1] in SENTENCE_ENDS + " "
        assert body(snippet).endswith("。")
        # It starts at the sentence that holds the match.
        assert word in body(snippet).split("。")[0]


def test_ellipses_mark_cuts_inside_paragraphs() -> None:
    paragraphs = [filler(3), "首句在这里。次句提到拉夫罗夫。第三句是别的内容。末句说到卡布洛夫。", filler(3, 3)]
    text = "\n".join(paragraphs)

    inside = make_snippet(text, [needle("拉夫罗夫")], size=16)
    assert inside.text.startswith("…次句提到")
    assert inside.text.endswith("…")

    opening = make_snippet(text, [needle("首句")], size=30)
    assert opening.text.startswith("首句在这里。")

    closing = make_snippet(text, [needle("避免剧烈活动")], size=30)
    assert closing.text.endswith("避免剧烈活动。")

    paragraph_end = make_snippet(text, [needle("末句")], size=12)
    assert paragraph_end.text.endswith("末句说到卡布洛夫。")


def test_a_snippet_inside_one_long_paragraph_has_both_ellipses() -> None:
    text = "".join(FILLER * 6) + "拉夫罗夫表示欢迎。" + "".join(FILLER * 6)
    snippet = make_snippet(text, [needle("拉夫罗夫")])
    assert_consistent(snippet)
    assert snippet.text.startswith("…") and snippet.text.endswith("…")
    assert body(snippet).endswith("。")
    assert marked(snippet) == ["拉夫罗夫"]


def test_a_paragraph_start_needs_no_ellipsis() -> None:
    snippet = make_snippet(MOSCOW, [needle("美联社")])
    assert body(snippet).startswith("综合塔斯社")  # the paragraph that holds the match
    assert not snippet.text.startswith("…")


def test_a_sentence_without_punctuation_is_cut_plainly_around_the_match() -> None:
    words = "一二三四五六七八九十" * 20
    text = words + "莫斯科模式" + words
    snippet = make_snippet(text, [needle("莫斯科模式")])
    assert_consistent(snippet)
    assert marked(snippet) == ["莫斯科模式"]
    assert snippet.text.startswith("…") and snippet.text.endswith("…")
    assert 0.6 * 120 <= len(body(snippet)) <= 1.3 * 120


def test_a_cut_never_falls_inside_a_match() -> None:
    # The needle spans a sentence end, where the snippet would otherwise be cut.
    text = filler(6) + "会议通过决议。声明指出各方尊重阿富汗主权。" + filler(6, 2)
    spanning = Needle(re.compile("通过决议。声明"))
    for size in range(20, 140, 7):
        snippet = make_snippet(text, [spanning], size=size)
        assert marked(snippet) == ["通过决议。声明"]


def test_paragraphs_join_with_one_space_and_spans_follow() -> None:
    text = "  第一段介绍背景。  \n\n  APEC 会议  在利马\t举行。\n第三段是 apec 的后续。  "
    snippet = make_snippet(text, [Needle(re.compile(r"apec\s*会议")), needle("apec")])
    assert_consistent(snippet)
    assert snippet.text == "第一段介绍背景。 APEC 会议 在利马 举行。 第三段是 apec 的后续。"
    assert marked(snippet) == ["APEC 会议", "apec"]


def test_hostile_text_is_escaped() -> None:
    text = (
        '标题<script>alert("x")</script>里有标签。'
        '链接"><img src=x onerror=alert(1)>也要转义。'
        "实体&amp;和&lt;mark&gt;原样显示，<mark>假标记</mark>也一样。"
    )
    snippet = make_snippet(text, [needle("转义")], size=200)
    assert_consistent(snippet)
    assert "<script" not in snippet.html and "<img" not in snippet.html
    assert "&lt;script&gt;" in snippet.html
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in snippet.html
    assert "&amp;amp;" in snippet.html
    assert snippet.html.count("<mark>") == snippet.html.count("</mark>") == 1
    assert re.sub(r"</?mark>", "", snippet.html).count("<") == 0


def test_hostile_needles_match_text_not_markup() -> None:
    text = "网友评论：<b>好</b> & “赞”。"
    snippet = highlight(text, [needle("<b>"), needle("&")])
    assert_consistent(snippet)
    assert snippet.html == "网友评论：<mark>&lt;b&gt;</mark>好&lt;/b&gt; <mark>&amp;</mark> “赞”。"


@pytest.mark.parametrize("needles", [[], [needle("不存在的词")]])
def test_without_a_match_the_snippet_is_the_start_of_the_text(needles: list[Needle]) -> None:
    text = filler(30)
    snippet = make_snippet(text, needles)
    assert_consistent(snippet)
    assert snippet.spans == () and "<mark>" not in snippet.html
    assert text.startswith(body(snippet).split(" ")[0])
    assert not snippet.text.startswith("…")
    assert body(snippet).endswith("。")
    assert 0.6 * 120 <= len(body(snippet)) <= 1.3 * 120


def test_a_short_text_is_returned_whole() -> None:
    assert make_snippet("只有一句话。", []).text == "只有一句话。"
    assert make_snippet("", [needle("话")]) == Snippet("", (), "")
    assert make_snippet(" \n ", [needle("话")]) == Snippet("", (), "")


def test_a_match_near_the_end_still_gets_a_full_snippet() -> None:
    text = filler(12) + "\n结束时拉夫罗夫发言。"
    snippet = make_snippet(text, [needle("拉夫罗夫")])
    assert_consistent(snippet)
    assert body(snippet).endswith("结束时拉夫罗夫发言。")
    assert 0.6 * 120 <= len(body(snippet)) <= 1.3 * 120


@pytest.mark.parametrize("size", [30, 60, 120, 200])
def test_length_stays_in_bounds_for_many_queries(size: int) -> None:
    text = MOSCOW + "\n" + filler(40)
    for word in ("阿富汗", "会议", "俄罗斯", "莫斯科", "塔利班", "气象部门", "专家"):
        snippet = make_snippet(text, [needle(word)], size=size)
        assert_consistent(snippet)
        assert word in marked(snippet)
        assert len(body(snippet)) <= 1.3 * size + len(word)
        assert len(body(snippet)) >= 0.6 * size


def test_highlight_marks_every_match_and_cuts_nothing() -> None:
    title = "中俄塔利班都参加了阿富汗问题磋商，美国仍缺席阿富汗会议"
    marked_title = highlight(title, [needle("阿富汗"), needle("塔利班"), needle("不存在")])
    assert_consistent(marked_title)
    assert marked_title.text == title
    assert marked(marked_title) == ["塔利班", "阿富汗", "阿富汗"]
    assert highlight(title, []) == Snippet(title, (), html.escape(title))


def test_a_twenty_thousand_character_post() -> None:
    paragraphs = [filler(6, i) for i in range(200)]
    paragraphs[60] = "俄外长拉夫罗夫表示，莫斯科模式会议取得积极成果，卡布洛夫也出席了会议。"
    text = "\n".join(paragraphs)[:20_000]
    assert len(text) == 20_000
    needles = [needle("莫斯科模式", 3.0), needle("拉夫罗夫"), needle("卡布洛夫"), needle("会议")]
    snippet = make_snippet(text, needles)
    assert_consistent(snippet)
    shown = marked(snippet)
    assert {"拉夫罗夫", "卡布洛夫"} <= set(shown)
    assert "莫斯科模式会议" in shown  # touching matches of two needles make one span


def test_size_must_be_positive() -> None:
    with pytest.raises(ParameterError):
        make_snippet(MOSCOW, [needle("会议")], size=0)


def test_a_chain_of_matches_longer_than_a_snippet_does_not_stretch_it() -> None:
    text = "習近平出席ＡＰＥＣ會議。" * 40
    needles = [needle("习近平"), needle("出席"), needle("apec会议。")]
    snippet = make_snippet(text, needles, size=50)
    assert_consistent(snippet)
    assert len(body(snippet)) <= 1.5 * 50
    assert len(snippet.spans) == 1  # the chain is one span, cut where the snippet is
