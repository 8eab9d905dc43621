"""HTML/Markdown bodies → text, heading and images (searchengine.bodytext)."""

from __future__ import annotations

import pytest

from searchengine.bodytext import BodyText, convert_body, html_to_text, is_html, markdown_to_html


def text(html: str) -> str:
    return html_to_text(html).text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<div>   \n<p>\n正文\n</p></div>", True),
        ("\n\n  <p>正文</p>", True),
        ("<section class='a'>x</section>", True),
        ("<article>", True),
        ("<h2>标题</h2>", True),
        ("<figure><img src=x></figure>", True),
        ("<table>", True),
        ("<br/>", True),
        ("<custom-element>x</custom-element>", True),
        ("<!DOCTYPE html>\n<html><body>x</body></html>", True),
        ("# 标题\n\n<p>x</p>", False),
        ("<政府工作报告>全文发布", False),  # not a tag: 政 is not an ASCII letter
        ("<https://example.com>", False),  # a Markdown autolink
        ("<!-- more -->\n正文", False),  # a comment is not a tag: Hexo's excerpt marker
        ("正文<p>x</p>", False),
        ("<1>", False),
        ("<", False),
        ("", False),
    ],
)
def test_is_html_looks_at_the_first_non_blank_content(body: str, expected: bool) -> None:
    assert is_html(body) is expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<div>a<p>b</p>c</div>", "a\nb\nc"),
        ("<p><span>阿富汗</span><span>问题</span></p>", "阿富汗问题"),
        ("<p>a <em>b</em> <a href='#'>c</a></p>", "a b c"),
        ("<ul><li>一</li><li>二<ol><li>三</li></ol></li></ul>", "一\n二\n三"),
        ("<p>甲<br>乙<br/>丙</p>", "甲\n乙\n丙"),
        ("<h1>题</h1><blockquote>引</blockquote><hr><address>址</address>", "题\n引\n址"),
        ("<dl><dt>词</dt><dd>释义</dd></dl>", "词\n释义"),
        ("<section><header>头</header><article>文</article><footer>尾</footer></section>", "头\n文\n尾"),
        ("<p>   </p><p>\n\n</p><div><p>x</p></div>", "x"),
    ],
)
def test_blocks_break_lines_and_inline_elements_join(html: str, expected: str) -> None:
    assert text(html) == expected


def test_table_rows_are_lines_and_cells_stay_apart() -> None:
    html = "<table><tr><th>城市</th><th>人口</th></tr><tr><td>北京</td><td>2189万</td></tr></table>"
    assert text(html) == "城市 人口\n北京 2189万"


@pytest.mark.parametrize(
    "hidden",
    [
        "<script>var s = '<p>不应出现</p>';</script>",
        "<style>p { color: red }</style>",
        "<template><p>不应出现</p></template>",
        "<noscript>请启用脚本</noscript>",
        "<iframe src='x'>不应出现</iframe>",
        "<video src='v.mp4'>您的浏览器不支持 video 标签</video>",
        "<!-- 注释 -->",
    ],
)
def test_invisible_content_is_dropped(hidden: str) -> None:
    assert text(f"<p>前{hidden}后</p>") == "前后"


def test_head_content_is_dropped() -> None:
    assert text("<html><head><title>页面标题</title></head><body><p>正文</p></body></html>") == "正文"


def test_entities_are_decoded_and_nbsp_is_a_space() -> None:
    html = "<p>&amp; &lt;b&gt; &quot;引&quot; &#x4E2D;&#25991; A&nbsp;B&nbsp;&nbsp;C&nbsp;</p>"
    assert text(html) == '& <b> "引" 中文 A B C'


def test_angle_brackets_around_chinese_stay_text() -> None:
    assert text("<p>国务院发布<政府工作报告>全文</p>") == "国务院发布<政府工作报告>全文"


def test_strong_text_and_captions_are_kept_but_not_alt_or_title() -> None:
    html = (
        "<p>俄外长表示，<strong>阿富汗政权变换已成为既定事实</strong>。</p>"
        '<p><img src="a.png" alt="替代文字" title="点击查看大图"></p>'
        '<p><span style="color:#666">俄外长在会议上发言</span><span> 图源：塔斯社</span></p>'
        '<figure><img src="b.png" alt="替代"><figcaption>图为会场。</figcaption></figure>'
    )
    assert text(html) == "俄外长表示，阿富汗政权变换已成为既定事实。\n俄外长在会议上发言 图源：塔斯社\n图为会场。"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>阿富\n汗问题</p>", "阿富汗问题"),  # a phrase wrapped in the source stays whole
        ("<p>阿富 \n\t 汗</p>", "阿富汗"),
        ("<p>阿富\n<strong>汗</strong></p>", "阿富汗"),  # across an element boundary
        ("<p>中&nbsp;\n文</p>", "中文"),
        ("<p>表示，\n“等等再看”\n。</p>", "表示，“等等再看”。"),  # CJK punctuation and quotes
        ("<p>中 文</p>", "中 文"),  # a space written on one line is kept
        ("<p>English\nwords</p>", "English words"),
        ("<p>中文\nEnglish\n中文</p>", "中文 English 中文"),
        ("<p>2021年\n10月</p>", "2021年 10月"),  # a digit is not CJK
        ("<p>한국\n어</p>", "한국 어"),  # Korean separates words with spaces
        ("<p>\n  前后有空白  \n</p>", "前后有空白"),
    ],
)
def test_whitespace_collapses_and_vanishes_at_line_breaks_between_cjk(
    html: str, expected: str
) -> None:
    assert text(html) == expected


def test_preformatted_lines_stay_lines() -> None:
    assert text("<pre>第一行\n  第二行\n\n第三行</pre>") == "第一行\n第二行\n第三行"


def test_heading_is_the_first_non_empty_heading() -> None:
    result = html_to_text("<p>导语</p><h3><img src='x.png'></h3><h2>第一\n标题</h2><h1>第二</h1>")
    assert result.heading == "第一标题"
    assert html_to_text("<p>没有标题</p>").heading == ""


def test_images_are_ordered_unique_and_not_data_uris() -> None:
    html = (
        '<p><img src=" b.png "><img src="a.png"><img src="b.png"><img src="">'
        '<img alt="no src"><img src="data:image/png;base64,AAAA"></p>'
    )
    assert html_to_text(html).images == ("b.png", "a.png")


def test_html_body_is_kept_as_written() -> None:
    body = "<div>\n<p>x</p>\n</div>"
    assert convert_body(body) == BodyText(html=body, text="x", heading="", images=())


def test_empty_body_gives_empty_text() -> None:
    assert convert_body("") == BodyText(html="", text="", heading="", images=())


def test_markdown_leaves_no_markup_residue() -> None:
    body = (
        "# 标题\n\n"
        "这是**加粗**和*斜体*，一个[链接](https://example.com)。\n\n"
        "> 引用\n> 第二行\n\n"
        "- 甲\n- 乙\n\n"
        "1. 一\n2. 二\n\n"
        "![图](https://example.com/a.png)\n\n"
        "<script>alert(1)</script>\n"
    )
    result = convert_body(body)
    assert result.text == "标题\n这是加粗和斜体，一个链接。\n引用第二行\n甲\n乙\n一\n二"
    assert result.heading == "标题"
    assert result.images == ("https://example.com/a.png",)
    assert result.html == markdown_to_html(body)


def test_markdown_keeps_angle_brackets_around_chinese_as_text() -> None:
    result = convert_body("发布 <政府工作报告> 全文")
    assert result.html == "<p>发布 &lt;政府工作报告&gt; 全文</p>\n"
    assert result.text == "发布 <政府工作报告> 全文"
