"""Pictures: ``Hit.thumbnail``, the ``image_hosts`` setting, the CSP, thumbnails and post pictures.

Over a real index of posts written here: pictures in front matter, in HTML
and Markdown bodies, on several hosts, over http, site-relative, and
hostile ones (``javascript:``, ``data:``, ``vbscript:``, ``//host``, a
backslash, a tab, quotes and ``"><script>``). The pages come from the real
Flask app under each kind of setting; one test runs the real server, and two
browser tests look at the result in Chromium.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from selectolax.lexbor import LexborHTMLParser

from searchengine.cli import main as cli
from searchengine.engine import SearchEngine
from searchengine.errors import ParameterError
from searchengine.pictures import ImageHosts, image_address, thumbnail
from searchengine.settings import env_name, setting
from searchengine.web import create_app
from tooling import CHROMIUM, SEARCHENGINE, assert_safe_html, build, free_port, running, write_posts

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

WORD = "图片测试"
LEAD = "https://p1.img.cctvpic.com/fmspic/2024/lead-180.jpg"
INLINE = "https://i.guancha.cn/news/inline.png"
TRACKER = "https://evil.example/track.gif"
BODY_FIRST = "https://i.guancha.cn/news/first.png"
QUOTED_RAW = 'https://p2.img.cctvpic.com/a.jpg"><script>alert(2)</script>'
QUOTED = "https://p2.img.cctvpic.com/a.jpg%22%3E%3Cscript%3Ealert(2)%3C/script%3E"
PLAIN_HTTP = "http://p3.img.cctvpic.com/plain.jpg"
SITE_RELATIVE = "/images/local.jpg"
MD_IMAGE = "https://i.guancha.cn/news/md.png"
ELSEWHERE = "https://img.other-news.example/x.jpg"

POSTS = {
    "pics/lead.md": f"""---
title: 带题图的文章
headimg: '{LEAD}'
thumbnail: '{LEAD}'
---
<p>{WORD} 题图与正文图片</p>
<p><img src="{INLINE}" alt="现场"></p>
<p><img src="{TRACKER}" width="1" height="1"></p>
""",
    "pics/body-first.md": f"""---
title: 只有正文图片
---
<p>{WORD} 正文第一张可用的图片</p>
<img src="javascript:alert(1)">
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<img src="{BODY_FIRST}">
""",
    "pics/hostile.md": f"""---
title: 恶意图片地址
headimg: 'javascript:alert(1)'
thumbnail: 'data:image/png;base64,AAAA'
cover: '//evil.example/x.png'
photos:
 - '{QUOTED_RAW}'
 - ' JaVaScRiPt:alert(3)'
---
<p>{WORD} 恶意图片</p>
<img src="vbscript:msgbox(4)">
<img src="java&#x09;script:alert(5)">
<img src="/\\evil.example/y.png">
""",
    "pics/plain-http.md": f"""---
title: http 题图
headimg: '{PLAIN_HTTP}'
---
<p>{WORD} 不加密的图片地址</p>
""",
    "pics/relative.md": f"""---
title: 站内路径题图
headimg: '{SITE_RELATIVE}'
---
<p>{WORD} 站内路径</p>
""",
    "pics/markdown.md": f"""---
title: Markdown 图片
---
{WORD} 在 Markdown 里

![图]({MD_IMAGE})
""",
    "pics/elsewhere.md": f"""---
title: 别的网站的题图
headimg: '{ELSEWHERE}'
---
<p>{WORD} 其他主机</p>
""",
    "pics/none.md": f"""---
title: 没有图片
---
<p>{WORD} 纯文字</p>
""",
}

#: Each post's ``Hit.thumbnail``: its first usable picture, front matter first.
THUMBNAILS = {
    "pics/lead.md": LEAD,
    "pics/body-first.md": BODY_FIRST,
    "pics/hostile.md": QUOTED,
    "pics/plain-http.md": PLAIN_HTTP,
    "pics/relative.md": SITE_RELATIVE,
    "pics/markdown.md": MD_IMAGE,
    "pics/elsewhere.md": ELSEWHERE,
    "pics/none.md": None,
}

LISTED = "*.cctvpic.com,i.guancha.cn"
#: The posts whose thumbnails a page shows under each setting (never http, never site-relative).
SHOWN = {
    "none": [],
    "p1.img.cctvpic.com": ["pics/lead.md"],
    LISTED: ["pics/lead.md", "pics/body-first.md", "pics/hostile.md", "pics/markdown.md"],
    "https": ["pics/lead.md", "pics/body-first.md", "pics/hostile.md", "pics/markdown.md", "pics/elsewhere.md"],
}
CSP_IMAGES = {
    "none": "'self' data:",
    "p1.img.cctvpic.com": "'self' data: https://p1.img.cctvpic.com",
    LISTED: "'self' data: https://*.cctvpic.com https://i.guancha.cn",
    "https": "'self' data: https:",
}
SCRIPT_SCHEMES = ("javascript:", "data:", "vbscript:")


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pictures")
    return build(write_posts(root / "posts", POSTS), root / "index")


@pytest.fixture(scope="module")
def engine(index: Path) -> SearchEngine:
    return SearchEngine(index)


def client_for(engine: SearchEngine, image_hosts: str | None) -> FlaskClient:
    """The app over ``engine`` with ``image_hosts`` (None: the default)."""
    config = {"ENGINE": engine, "TESTING": True}
    app: Flask = create_app(config if image_hosts is None else {**config, "IMAGE_HOSTS": image_hosts})
    return app.test_client()


def html_page(client: FlaskClient, url: str) -> tuple[LexborHTMLParser, str]:
    """A page, checked safe; its tree and its ``img-src``."""
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    assert_safe_html(html)
    assert "<script>alert" not in html
    return LexborHTMLParser(html), img_src(response.headers["Content-Security-Policy"])


def img_src(policy: str) -> str:
    return dict(part.split(" ", 1) for part in policy.split("; "))["img-src"]


def thumbnails_on(tree: LexborHTMLParser) -> dict[str, dict[str, str | None]]:
    """The thumbnails of a results page, by the path of the post each stands beside."""
    found = {}
    for result in tree.css("li.result"):
        link = result.css_first(".result-title a")
        image = result.css_first("img.result-thumbnail")
        if link is not None and image is not None:
            found[urlsplit(link.attributes["href"] or "").path.removeprefix("/post/")] = image.attributes
    return found


def sources(tree: LexborHTMLParser, selector: str) -> list[str | None]:
    return [image.attributes.get("src") for image in tree.css(selector)]


# --- the library ------------------------------------------------------------


def test_hit_thumbnail_is_the_first_usable_picture(engine: SearchEngine) -> None:
    result = engine.search(WORD, limit=20)
    assert {hit.path: hit.thumbnail for hit in result.hits} == THUMBNAILS
    assert {hit["path"]: hit["thumbnail"] for hit in result.to_dict()["hits"]} == THUMBNAILS


def test_post_images_are_only_image_addresses(engine: SearchEngine) -> None:
    posts = {path: engine.get(path) for path in POSTS}
    assert {path: post.images for path, post in posts.items() if post is not None} == {
        "pics/lead.md": [LEAD, INLINE, TRACKER],
        "pics/body-first.md": [BODY_FIRST],
        "pics/hostile.md": [QUOTED],
        "pics/plain-http.md": [PLAIN_HTTP],
        "pics/relative.md": [SITE_RELATIVE],
        "pics/markdown.md": [MD_IMAGE],
        "pics/elsewhere.md": [ELSEWHERE],
        "pics/none.md": [],
    }


def test_cli_json_carries_the_thumbnail(index: Path) -> None:
    result = CliRunner().invoke(cli, ["search", WORD, "--index", str(index), "--limit", "20", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)["hits"]
    assert {hit["path"]: hit["thumbnail"] for hit in hits} == THUMBNAILS


@pytest.mark.parametrize(
    "raw",
    [
        "javascript:alert(1)",
        " JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "\x01javascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:image/png;base64,AAAA",
        "//evil.example/x.png",
        "/\\evil.example/x.png",
        "https://good.example\\@evil.example/x.png",
        "https://user:pass@good.example/x.png",
        "https:evil.example/x.png",
        "https:///x.png",
        "images/relative.png",
        "ftp://good.example/x.png",
        "https://good.example:99999/x.png",
        "https://bad host.example/x.png",
        "https://[::1]/x.png",
        "https://example.com/" + "a" * 2100 + ".png",
        "",
        None,
        42,
    ],
)
def test_what_is_not_an_image_address(raw: object) -> None:
    assert image_address(raw) is None
    assert thumbnail([raw]) is None  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("raw", "address"),
    [
        (LEAD, LEAD),
        (f"  {LEAD}\n", LEAD),
        ("HTTPS://P1.IMG.CCTVPIC.COM:443/A.jpg", "https://p1.img.cctvpic.com/A.jpg"),
        ("http://example.com:8080/x.png?a=1&b=2", "http://example.com:8080/x.png?a=1&b=2"),
        ("https://例子.中国/图.jpg", f"https://xn--fsqu00a.xn--fiqs8s/{quote('图')}.jpg"),
        ("https://example.com/%E5%9B%BE.jpg", "https://example.com/%E5%9B%BE.jpg"),  # not encoded twice
        ("https://example.com/a b'\"<>.jpg", "https://example.com/a%20b'%22%3C%3E.jpg"),
        ("https://example.com", "https://example.com/"),
        (SITE_RELATIVE, SITE_RELATIVE),
        (QUOTED_RAW, QUOTED),
    ],
)
def test_image_addresses_are_normalized(raw: str, address: str) -> None:
    assert image_address(raw) == address
    assert image_address(address) == address


def test_thumbnail_skips_what_is_not_an_address() -> None:
    assert thumbnail(["javascript:alert(1)", "//evil.example/x.png", SITE_RELATIVE, LEAD]) == SITE_RELATIVE
    assert thumbnail([]) is None


# --- the setting ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("none", "none"),
        ("  NONE ", "none"),
        ("https", "https"),
        ("HTTPS", "https"),
        ("p1.img.cctvpic.com", "p1.img.cctvpic.com"),
        (" P1.IMG.cctvpic.com , *.CCTVpic.com,i.guancha.cn, ", "p1.img.cctvpic.com,*.cctvpic.com,i.guancha.cn"),
        ("例子.中国", "xn--fsqu00a.xn--fiqs8s"),
    ],
)
def test_image_hosts_setting_is_read(value: str, text: str) -> None:
    hosts = ImageHosts.parse(value)
    assert str(hosts) == text
    assert ImageHosts.parse(text) == hosts


@pytest.mark.parametrize(
    "value",
    [
        "https://p1.img.cctvpic.com/",
        "p1.img.cctvpic.com/fmspic",
        "none,p1.img.cctvpic.com",
        "https,p1.img.cctvpic.com",
        "p1.img.cctvpic.com:8443",
        "*",
        "*.",
        ",",
        "a host.example",
        "javascript:alert(1)",
        "<script>",
    ],
)
def test_a_bad_image_hosts_value_is_a_clear_error(engine: SearchEngine, value: str) -> None:
    with pytest.raises(ParameterError, match=r"^image_hosts\b.*none, https, or host names"):
        ImageHosts.parse(value)
    with pytest.raises(ParameterError, match=r"^image_hosts\b"):
        create_app({"ENGINE": engine, "IMAGE_HOSTS": value})


def test_image_hosts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env_name("image_hosts"), " P1.IMG.cctvpic.com, *.CCTVPIC.com")
    assert setting("image_hosts") == "p1.img.cctvpic.com,*.cctvpic.com"
    monkeypatch.setenv(env_name("image_hosts"), "https://p1.img.cctvpic.com")
    with pytest.raises(ParameterError, match=r"^SEARCHENGINE_IMAGE_HOSTS='https://p1.img.cctvpic.com': image_hosts: "):
        setting("image_hosts")
    monkeypatch.delenv(env_name("image_hosts"))
    assert setting("image_hosts") == "none"


def test_serve_refuses_a_bad_image_hosts_in_one_line(index: Path) -> None:
    command = [*SEARCHENGINE, "serve", "--index", str(index), "--port", str(free_port())]
    run = subprocess.run([*command, "--image-hosts", "none,i.guancha.cn"], capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr.startswith("Error: image_hosts: none cannot be combined with host names")
    assert len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr


# --- pages and API under each setting ----------------------------------------


@pytest.mark.parametrize("image_hosts", list(SHOWN))
def test_results_show_the_allowed_thumbnails(engine: SearchEngine, image_hosts: str) -> None:
    tree, policy = html_page(client_for(engine, image_hosts), f"/?q={WORD}")
    assert len(tree.css("li.result")) == len(POSTS)
    assert policy == CSP_IMAGES[image_hosts]
    shown = thumbnails_on(tree)
    assert shown == {
        path: {
            "class": "result-thumbnail",
            "src": THUMBNAILS[path],
            "alt": "",
            "width": "96",
            "height": "64",
            "loading": "lazy",
            "decoding": "async",
            "referrerpolicy": "no-referrer",
        }
        for path in SHOWN[image_hosts]
    }
    assert len(tree.css("img")) == len(shown)  # no empty boxes, no other pictures


def test_default_pages_load_nothing_from_other_hosts(engine: SearchEngine) -> None:
    client = client_for(engine, None)
    for url in [f"/?q={WORD}", *(f"/post/{path}?q={WORD}" for path in POSTS)]:
        tree, policy = html_page(client, url)
        assert policy == "'self' data:"
        assert tree.css("img") == [], url


@pytest.mark.parametrize(
    ("image_hosts", "lead", "body", "hidden"),
    [
        ("none", [], [], 3),
        ("p1.img.cctvpic.com", [LEAD], [], 2),
        (LISTED, [LEAD], [INLINE], 1),
        ("https", [LEAD], [INLINE, TRACKER], 0),
    ],
)
def test_post_page_pictures(
    engine: SearchEngine, image_hosts: str, lead: list[str], body: list[str], hidden: int
) -> None:
    tree, policy = html_page(client_for(engine, image_hosts), "/post/pics/lead.md")
    assert policy == CSP_IMAGES[image_hosts]
    assert sources(tree, "figure.post-picture img") == lead
    assert sources(tree, ".post-body img") == body
    for image in tree.css("figure.post-picture img, .post-body img"):
        assert image.attributes["loading"] == "lazy" and image.attributes["decoding"] == "async"
        assert image.attributes["referrerpolicy"] == "no-referrer"
    notes = [node.text().strip() for node in tree.css(".pictures-hidden")]
    assert notes == ([f"此文有 {hidden} 张图片未显示（本站不加载这些来源的图片）"] if hidden else [])


def test_a_picture_in_the_body_is_not_repeated_above_it(engine: SearchEngine) -> None:
    tree, _ = html_page(client_for(engine, LISTED), "/post/pics/markdown.md")
    assert sources(tree, "figure.post-picture img") == []
    assert sources(tree, ".post-body img") == [MD_IMAGE]


@pytest.mark.parametrize("image_hosts", list(SHOWN))
def test_no_script_url_in_any_page_or_api_response(engine: SearchEngine, image_hosts: str) -> None:
    client = client_for(engine, image_hosts)
    html_page(client, f"/?q={WORD}")  # checked inside
    hits = client.get(f"/api/search?q={WORD}&limit=20").get_json()["hits"]
    assert {hit["path"]: hit["thumbnail"] for hit in hits} == THUMBNAILS
    for path in POSTS:
        tree, _ = html_page(client, f"/post/{path}")
        data: dict[str, Any] = client.get(f"/api/post/{path}").get_json()
        addresses = [*data["images"], *sources(LexborHTMLParser(data["html_sanitized"]), "img"), *sources(tree, "img")]
        for address in addresses:
            assert address is not None and not address.strip().lower().startswith(SCRIPT_SCHEMES), (path, address)
            assert address.startswith(("https://", "http://", "/")) and not address.startswith("//"), (path, address)
        assert_safe_html(data["html_sanitized"])
        assert "<script" not in data["html_sanitized"]


# --- the real server -----------------------------------------------------------


def test_the_server_serves_with_the_setting(index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env_name("image_hosts"), "p1.img.cctvpic.com")
    monkeypatch.setenv(env_name("web_workers"), "1")
    with running(index) as server, urllib.request.urlopen(f"{server.url}/?q={quote(WORD)}", timeout=30) as response:
        policy = response.headers["Content-Security-Policy"]
        tree = LexborHTMLParser(response.read().decode("utf-8"))
    assert img_src(policy) == CSP_IMAGES["p1.img.cctvpic.com"]
    assert sources(tree, "img.result-thumbnail") == [LEAD]


# --- in a browser ----------------------------------------------------------------

in_a_browser = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium (apt-get install -y chromium)"
)


@pytest.fixture(scope="module")
def sites(index: Path) -> Iterator[dict[str, str]]:
    """``searchengine serve`` over the posts, by setting: the default one, and :data:`LISTED`."""
    with ExitStack() as servers:
        urls = {}
        for image_hosts in ("none", LISTED):
            with pytest.MonkeyPatch.context() as env:  # only the server's environment
                env.setenv(env_name("image_hosts"), image_hosts)
                env.setenv(env_name("web_workers"), "1")
                urls[image_hosts] = servers.enter_context(running(index, threads=4)).url
        yield urls


def open_offline(browser: Browser, url: str, width: int = 1280) -> tuple[Page, list[str], list[str]]:
    """``url`` in a new page where no other host answers: the page, its requests elsewhere, its CSP violations."""
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900})
    elsewhere: list[str] = []
    violations: list[str] = []
    own = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}/"

    def offline(route: Route) -> None:
        elsewhere.append(route.request.url)
        route.abort()

    context.route(lambda address: not address.startswith(own), offline)
    page = context.new_page()
    page.on("console", lambda message: violations.append(message.text) if "Refused to" in message.text else None)
    page.goto(url, wait_until="load")
    return page, elsewhere, violations


@pytest.mark.browser
@in_a_browser
@pytest.mark.parametrize("width", [1280, 375])
def test_thumbnails_keep_their_size_when_pictures_cannot_load(
    browser: Browser, sites: dict[str, str], width: int
) -> None:
    page, elsewhere, violations = open_offline(browser, f"{sites[LISTED]}/?q={quote(WORD)}", width)
    try:
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # every lazy thumbnail is asked for
        page.wait_for_function("() => [...document.querySelectorAll('img.result-thumbnail')].every(i => i.complete)")
        boxes = page.eval_on_selector_all(
            "li.result",
            """results => results.map(r => {
                const image = r.querySelector('img.result-thumbnail'), title = r.querySelector('.result-title a');
                const box = e => { const b = e.getBoundingClientRect(); return [b.left, b.top, b.width, b.height]; };
                return {image: image && box(image), loaded: image && image.naturalWidth > 0, title: box(title)};
            })""",
        )
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    finally:
        page.context.close()
    size = [96, 64] if width > 600 else [72, 48]
    pictured = [box for box in boxes if box["image"]]
    assert len(pictured) == len(SHOWN[LISTED])
    for box in pictured:
        assert box["image"][2:] == size and not box["loaded"]
        assert box["title"][0] + box["title"][2] <= box["image"][0]  # beside the title, not over it
    assert sorted(elsewhere) == sorted(str(THUMBNAILS[path]) for path in SHOWN[LISTED])  # asked for, none answered
    assert violations == [] and overflow <= 0


@pytest.mark.browser
@in_a_browser
def test_by_default_pages_ask_no_other_host(browser: Browser, sites: dict[str, str]) -> None:
    for url in (f"/?q={quote(WORD)}", "/post/pics/lead.md", "/post/pics/markdown.md"):
        page, elsewhere, violations = open_offline(browser, sites["none"] + url)
        try:
            assert page.locator("img").count() == 0
        finally:
            page.context.close()
        assert elsewhere == [] and violations == [], url
