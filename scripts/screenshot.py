"""Save a screenshot of the search page for 莫斯科模式, as docs/search-page.png shows it.

    python scripts/screenshot.py OUT.png [--query 莫斯科模式] [--param date=2021] [--index DIR]
                                 [--click SELECTOR] [--width 1280] [--height 900]

Builds an index of the bundled sample posts in a temp folder (or uses the
index at ``--index``, such as one of the whole corpus), serves it with
``searchengine serve`` (waitress) on a free port, opens the results page
(with any ``--param name=value`` added to the URL) in Debian's headless
Chromium (/usr/bin/chromium, driven by Playwright; no ``playwright install``
needed), clicks what ``--click`` names, and saves the visible part of the
page as PNG. docs/timeline.png is ``--index`` of the whole corpus with
``--query 碳中和``; docs/collapsed-duplicates.png the same index with
``--query 新闻舆论工作座谈会 --click ".similar summary"``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import sync_playwright

import searchengine
from searchengine.indexer import BuildOptions, build_index

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test tooling: servers, Chromium
from tooling import CHROMIUM, CHROMIUM_ARGS, running  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="PNG file to write")
    parser.add_argument("--query", default="莫斯科模式")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--param", action="append", default=[], help="NAME=VALUE added to the page's URL")
    parser.add_argument("--index", type=Path, help="an index to serve (default: one of the sample posts)")
    parser.add_argument("--click", action="append", default=[], help="a CSS selector to click before the shot")
    parser.add_argument("--chromium", default=str(CHROMIUM))
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        print(f"error: no Chromium at {args.chromium} (apt-get install -y chromium)", file=sys.stderr)
        return 1
    params = {"q": args.query, **dict(param.partition("=")[::2] for param in args.param)}
    samples = Path(searchengine.__file__).parent / "sample_posts"
    with tempfile.TemporaryDirectory(prefix="searchengine-shot-") as tmp:
        index = args.index
        if index is None:
            index = Path(tmp) / "index"
            build_index(samples, index, BuildOptions(workers=1))
        with running(index) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(
                    viewport={"width": args.width, "height": args.height}, locale="zh-CN", device_scale_factor=1
                )
                page.goto(f"{server.url}/?{urlencode(params)}", wait_until="load")
                page.wait_for_selector(".results mark")
                for selector in args.click:
                    page.locator(selector).first.click()
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out), full_page=False)
            finally:
                browser.close()
    size = args.out.stat().st_size
    print(f"{args.out}: {size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
