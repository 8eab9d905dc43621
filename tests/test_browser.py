"""The site in a real headless Chromium, served by the real server.

``searchengine serve`` (waitress) runs in a child process over an index of the
sample posts plus one hostile post; Debian's Chromium (/usr/bin/chromium) is
driven by Playwright's Python API, without ``playwright install``. Every page
is watched for JavaScript dialogs (a hostile query must run no script) and
for Content-Security-Policy violations (the site must need no inline code).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tooling import (
    CHROMIUM,
    HOSTILE_POST,
    HOSTILE_POSTS,
    SAMPLES,
    SEED,
    SEED_TITLE,
    build,
    running,
    write_posts,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium (apt-get install -y chromium)"),
]

TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of ``searchengine serve`` over the sample posts and a hostile one."""
    root = tmp_path_factory.mktemp("browser")
    posts = root / "posts"
    shutil.copytree(SAMPLES, posts)
    write_posts(posts, HOSTILE_POSTS)
    index = build(posts, root / "index")
    with running(index, threads=4) as server:
        yield server.url


class Watched:
    """A page plus what went wrong on it: dialogs opened, CSP violations, script errors."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.violations: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _console(self, message: ConsoleMessage) -> None:
        text = message.text
        if "Content Security Policy" in text or "Refused to" in text:
            self.violations.append(text)


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    # The sample posts' images live on the internet; answer them locally so
    # the tests never wait on the network.
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.fulfill(status=204, body=""))
    page = context.new_page()
    watch = Watched(page)
    try:
        yield watch
    finally:
        context.close()
    assert watch.dialogs == [], "a script ran"
    assert watch.violations == [], "the page broke its Content-Security-Policy"
    assert watch.errors == [], "search.js threw"


def search_for(page: Page, site: str, query: str) -> None:
    """Type ``query`` in the box on the home page and submit it with Enter."""
    page.goto(site + "/")
    box = page.get_by_label("搜索新闻", exact=True)
    box.fill(query)
    with page.expect_navigation():
        box.press("Enter")


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_search_finds_the_seed_post_first(watched: Watched, site: str) -> None:
    page = watched.page
    search_for(page, site, "莫斯科模式")
    assert query_of(page.url)["q"] == ["莫斯科模式"]
    assert page.input_value("#q") == "莫斯科模式"
    first = page.locator(".result").first
    assert first.locator(".result-title a").inner_text() == SEED_TITLE
    assert urlsplit(first.locator(".result-title a").get_attribute("href")).path == f"/post/{SEED}"
    marks = first.locator(".snippet mark").all_inner_texts()
    assert "莫斯科模式" in marks  # the whole phrase inside one <mark>
    assert "共 1 条结果" in page.inner_text(".summary")


def test_second_page_of_a_common_word(watched: Watched, site: str) -> None:
    page = watched.page
    search_for(page, site, "经济")
    first_titles = page.locator(".result-title a").all_inner_texts()
    assert len(first_titles) == 10
    with page.expect_navigation():
        page.get_by_role("link", name="下一页").click()
    assert query_of(page.url)["page"] == ["2"]
    assert page.locator("nav.pagination [aria-current=page]").inner_text() == "2"
    second_titles = page.locator(".result-title a").all_inner_texts()
    assert second_titles and not set(first_titles) & set(second_titles)


def test_category_facet_filters_the_results(watched: Watched, site: str) -> None:
    page = watched.page
    search_for(page, site, "经济")
    facet = page.locator("nav.facet[aria-label=按分类筛选] a.facet-link").nth(1)
    value = facet.locator(".value").inner_text()
    count = int(facet.locator(".count").inner_text())
    with page.expect_navigation():
        facet.click()
    assert query_of(page.url)["category"] == [value]
    assert page.locator(".active-filters .chip").inner_text().startswith(f"分类：{value}")
    assert page.locator(".result").count() == min(count, 10)
    for categories in page.locator(".result .meta").all_inner_texts():
        assert value in categories
    with page.expect_navigation():
        page.locator(".active-filters .chip").click()
    assert "category" not in query_of(page.url)


def test_open_a_post_from_the_results(watched: Watched, site: str) -> None:
    page = watched.page
    search_for(page, site, "莫斯科模式")
    with page.expect_navigation():
        page.locator(".result-title a").first.click()
    assert urlsplit(page.url).path == f"/post/{SEED}"
    assert page.locator("h1").inner_text() == SEED_TITLE
    marks = page.locator(".post-body mark").all_inner_texts()
    assert marks and set(marks) == {"莫斯科模式"}
    assert page.locator("aside.related li").count() == 5


def test_a_pinyin_query_is_corrected_and_can_be_searched_as_typed(watched: Watched, site: str) -> None:
    page = watched.page
    search_for(page, site, "kabuluofu")
    correction = page.locator(".correction")
    assert correction.inner_text() == "已显示“卡布洛夫”的结果 · 仍然搜索：kabuluofu"
    assert page.input_value("#q") == "kabuluofu"  # the box keeps what was typed
    assert "卡布洛夫" in page.locator(".result").first.locator(".snippet mark").all_inner_texts()
    with page.expect_navigation():
        page.locator(".result-title a").first.click()
    assert "卡布洛夫" in page.locator(".post-body mark").all_inner_texts()  # marked as searched
    page.go_back()
    with page.expect_navigation():
        correction.get_by_role("link", name="kabuluofu").click()
    assert query_of(page.url) == {"q": ["kabuluofu"], "correct": ["0"]}
    assert page.locator(".correction").count() == 0 and page.locator(".result").count() == 0
    assert "没有找到结果" in page.inner_text(".summary")
    assert page.input_value("#q") == "kabuluofu"


def test_autocomplete_opens_the_chosen_post(watched: Watched, site: str) -> None:
    page = watched.page
    page.goto(site + "/")
    box = page.locator("#q")
    box.press_sequentially("经济", delay=30)
    options = page.locator("#q-suggestions [role=option]")
    options.first.wait_for(state="visible")
    assert box.get_attribute("aria-expanded") == "true"
    titles = options.all_inner_texts()
    assert "欧亚经济论坛开幕 各方探讨区域互联互通" in titles
    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == "q-suggestion-0"
    assert options.first.get_attribute("aria-selected") == "true"
    box.press("Escape")
    assert page.locator("#q-suggestions").is_hidden()
    box.press("ArrowDown")
    box.press("ArrowDown")
    with page.expect_navigation():
        box.press("Enter")
    assert urlsplit(page.url).path.startswith("/post/")
    assert page.locator("h1").inner_text() == titles[0]
    page.goto(site + "/")
    box.press_sequentially("恶意标题", delay=30)  # a title with quotes, chosen with the mouse
    options.first.wait_for(state="visible")
    with page.expect_navigation():
        options.first.click()
    assert urlsplit(page.url).path == f"/post/{HOSTILE_POST}"


def test_only_the_home_page_focuses_the_search_box(watched: Watched, site: str) -> None:
    page = watched.page
    page.goto(site + "/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.goto(site + "/?q=经济")
    assert page.evaluate("document.activeElement.id") != "q"


def test_slash_focuses_the_search_box(watched: Watched, site: str) -> None:
    page = watched.page
    page.goto(f"{site}/post/{SEED}")
    page.locator("body").click(position={"x": 5, "y": 400})
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    assert page.input_value("#q") == ""  # the "/" was not typed


@pytest.mark.parametrize("query", ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>'])
def test_hostile_queries_run_no_script(watched: Watched, site: str, query: str) -> None:
    page = watched.page
    search_for(page, site, query)
    assert page.input_value("#q") == query
    page.goto(f"{site}/post/{SEED}?q={quote(query)}")
    page.goto(f"{site}/post/{quote(query)}")
    assert page.locator("h1").inner_text() == "页面不存在"
    page.wait_for_timeout(200)  # let a stray onerror fire, if any
    # the fixture asserts that no dialog opened


def test_hostile_post_runs_no_script(watched: Watched, site: str) -> None:
    page = watched.page
    page.goto(f"{site}/post/{HOSTILE_POST}?q=海狸鼠测试词")
    assert "恶意标题" in page.locator("h1").inner_text()
    assert page.locator(".post-body mark").count() == 2
    page.locator(".post-body a", has_text="好链接").hover()
    page.wait_for_timeout(200)
    assert page.locator(".post-body script, .post-body iframe, .post-body form").count() == 0


def test_phone_layout_has_no_horizontal_scroll(browser: Browser, site: str) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="zh-CN")
    try:
        page = context.new_page()
        for path in ("/?q=经济&category=经济", f"/post/{SEED}?q=莫斯科模式", "/"):
            page.goto(site + path)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
    finally:
        context.close()


def test_the_watch_sees_dialogs_and_csp_blocks_injected_markup(browser: Browser, site: str) -> None:
    """The harness works: a dialog is seen, and markup injected past the sanitizer still cannot run."""
    context = browser.new_context()
    try:
        page = context.new_page()
        watch = Watched(page)
        page.goto(f"{site}/?q=经济")
        page.evaluate("alert('from the test')")  # not page content: CSP does not apply
        assert watch.dialogs == ["from the test"]
        page.evaluate(
            """() => {
                document.body.insertAdjacentHTML('beforeend', '<img src="/nope.png" onerror="alert(1)">');
                const s = document.createElement('script'); s.textContent = 'alert(2)'; document.body.append(s);
            }"""
        )
        page.wait_for_timeout(300)
        assert watch.dialogs == ["from the test"]
        assert len(watch.violations) >= 2, watch.violations
    finally:
        context.close()


def _chinese_font_families() -> set[str]:
    """The font families on this machine that have Chinese glyphs, as fontconfig names them."""
    if shutil.which("fc-list") is None:
        pytest.skip("fontconfig's fc-list is missing: cannot tell which fonts have Chinese glyphs")
    listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=True).stdout
    return {name.strip() for line in listed.splitlines() for name in line.split(",") if name.strip()}


def test_chinese_text_is_drawn_with_chinese_glyphs(watched: Watched, site: str) -> None:
    """The post title's characters are drawn by a font that has them, not as boxes of a fallback font.

    Chromium says which platform fonts drew a node's text, and how many
    glyphs each drew (DevTools' CSS.getPlatformFontsForNode).
    """
    families = _chinese_font_families()
    assert families, "no font with Chinese glyphs is installed (scripts/test installs fonts-noto-cjk)"
    page = watched.page
    page.goto(f"{site}/post/{quote(SEED)}")
    title = page.locator("#post-title").inner_text()
    chinese = len(re.findall(r"[\u4e00-\u9fff]", title))
    assert chinese > 10
    devtools = page.context.new_cdp_session(page)
    devtools.send("DOM.enable")
    devtools.send("CSS.enable")
    root = devtools.send("DOM.getDocument")["root"]["nodeId"]
    node = devtools.send("DOM.querySelector", {"nodeId": root, "selector": "#post-title"})["nodeId"]
    fonts = devtools.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    drawn_by_chinese_fonts = sum(font["glyphCount"] for font in fonts if font["familyName"] in families)
    assert drawn_by_chinese_fonts >= chinese, fonts


def test_timeline_bars_and_date_range_work_without_javascript(browser: Browser, site: str) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(site + "/?q=" + quote("经济"))
        bars = page.locator("svg.timeline-chart a.timeline-bar")
        assert bars.count() > 1
        box = bars.first.locator("rect").first.bounding_box()
        assert box is not None and box["width"] > 2 and box["height"] > 0  # drawn, not collapsed
        label = bars.first.get_attribute("aria-label") or ""
        count = int(re.search(r"：(\d+) 篇", label).group(1))  # type: ignore[union-attr]
        with page.expect_navigation():
            bars.first.locator("rect").last.click()
        period = query_of(page.url)["date"][0]
        assert label.startswith(f"{int(period[:4])}年")
        assert page.locator(".result").count() == min(count, 10)
        assert page.locator(".active-filters .chip").inner_text().startswith("时间：")
        # The date-range control, submitted with its button.
        page.goto(site + "/?q=" + quote("经济"))
        page.fill("form.date-range input[name=from]", "2015")
        page.fill("form.date-range input[name=to]", "2019-06")
        with page.expect_navigation():
            page.locator("form.date-range button").click()
        assert query_of(page.url)["from"] == ["2015"] and query_of(page.url)["to"] == ["2019-06"]
        assert page.locator(".active-filters .chip").inner_text().startswith("时间：2015年至2019年6月")
        dates = page.locator(".result time").evaluate_all("nodes => nodes.map(n => n.getAttribute('datetime'))")
        assert dates and all("2015" <= d[:7] <= "2019-06" for d in dates)
    finally:
        context.close()
