"""One story once (issue #12): reprints found at index time, collapsed at search time.

Reprints are made the way outlets make them, by editing copies of real posts
(a changed lead paragraph, another title, a trimmed end): of the bundled
sample posts, and of real news from the shared corpus (those tests carry the
``corpus`` marker). Posts that only share boilerplate — the corpus's daily
roundups, posts wrapped in one standard opening and closing — must stay
apart.
"""

from __future__ import annotations

import json
import re
import shutil
import zlib
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import make_posts
from datasketch import MinHash
from datasketch.lsh import _optimal_param
from selectolax.lexbor import LexborHTMLParser, LexborNode

from searchengine import reprints
from searchengine.cli import main as cli
from searchengine.documents import load_post, walk_posts
from searchengine.engine import SIMILAR_SHOWN, SearchEngine
from searchengine.normalize import normalize
from searchengine.results import SearchResult
from searchengine.web import create_app
from tooling import SAMPLES, assert_safe_html, build, in_fresh_process, write_posts

REPORT = "xinhua-like/2019/2019-03-05-government-work-report.md"  # 12 paragraphs
GULF = "xinhua-like/2012/2012-11-20-gulf-trade-talks.md"
#: A phrase of REPORT's second paragraph, which every reprint keeps.
REPORT_PHRASE = '"减税降费的段落"'
GULF_PHRASE = '"海湾地区一国经济事务部副部长"'
_PARAGRAPH = re.compile(r"<p>\s*(.*?)\s*</p>", re.S)


def edited(text: str, *, title: str | None = None, lead: str | None = None, trim: int = 0, days: int = 0) -> str:
    """A copy of a post's file as another outlet prints it: ``title`` instead of the
    title, ``lead`` instead of the first paragraph, the last ``trim`` paragraphs cut,
    dated ``days`` later."""
    if title is not None:
        text = re.sub(r"(?m)^title: .*$", f"title: '{title}'", text, count=1)
    if days:
        line = re.search(r"(?m)^date: (.*)$", text)
        assert line is not None
        raw = line.group(1).strip()  # RFC 2822 in the corpus, ISO 8601 in the samples
        moment = parsedate_to_datetime(raw) if raw[:1].isalpha() else datetime.fromisoformat(raw)
        text = text.replace(line.group(0), f"date: {(moment + timedelta(days=days)).isoformat()}", 1)
    blocks = list(_PARAGRAPH.finditer(text))
    cut = blocks[len(blocks) - trim :] if trim else []
    for block in reversed(cut):
        text = text[: block.start()] + text[block.end() :]
    if lead is not None:
        first = blocks[0]
        text = text[: first.start(1)] + lead + text[first.end(1) :]
    return text


def paragraphs(text: str) -> list[str]:
    return [m.group(1) for m in _PARAGRAPH.finditer(text)]


def stories_of(result: SearchResult) -> dict[str, set[str]]:
    """Each hit's path and the paths of its story (itself and the similar posts it names)."""
    return {hit.path: {hit.path, *(other.path for other in hit.similar)} for hit in result.hits}


def every_page(engine: SearchEngine, query: str, limit: int, **options: object) -> list[str]:
    """The paths of every hit, page after page, as a reader pages through."""
    paths: list[str] = []
    page = 1
    while True:
        result = engine.search(query, limit=limit, page=page, **options)  # type: ignore[arg-type]
        if not result.hits:
            assert page > result.pages
            return paths
        paths += [hit.path for hit in result.hits]
        page += 1


# --- the sketch and the grouping ---------------------------------------------------


def test_the_banding_is_datasketchs_optimum_for_the_threshold() -> None:
    assert _optimal_param(reprints.THRESHOLD, reprints.NUM_PERM, *reprints.LSH_WEIGHTS) == (
        reprints.BANDS,
        reprints.ROWS,
    )


def test_a_sketch_ignores_spacing_punctuation_and_script_and_a_short_body_has_none() -> None:
    body = (SAMPLES / REPORT).read_text(encoding="utf-8")
    text = " ".join(paragraphs(body))
    respaced = text.replace("，", "、 ").replace("。", "；\n")
    traditional = "代表委員熱議政府工作報告" + text
    plain = reprints.signature(normalize("代表委员热议政府工作报告" + text))
    assert reprints.signature(normalize(text)) == reprints.signature(normalize(respaced))
    assert reprints.signature(normalize(traditional)) == plain
    assert len(plain) == reprints.SIGNATURE_BYTES and plain != reprints.NO_SIGNATURE
    short = "短讯：" + "。".join(["一句话"] * 5)
    assert reprints.signature(normalize(short)) == reprints.NO_SIGNATURE


#: Characters that make no word of the shingle length twice.
COMMON = "的一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以会家可下而过天去能对小多然"


def _datasketch_signature(normalized: str) -> bytes:
    """A body's sketch as datasketch makes it: the definition :func:`reprints.signature` computes faster."""
    found = reprints.shingles(normalized)
    if len(found) < reprints.MIN_SHINGLES:
        return reprints.NO_SIGNATURE
    minhash = MinHash(num_perm=reprints.NUM_PERM, hashfunc=zlib.crc32, scheme="affine32")
    minhash.update_batch([shingle.encode("utf-8") for shingle in found])
    return (minhash.hashvalues & 0xFF).astype(np.uint8).tobytes()


def test_a_sketch_is_datasketchs_minhash_of_the_shingles(sample_posts: Path) -> None:
    """Real bodies, and texts where characters take 1 to 4 bytes or shingles repeat
    (a body of many shingles but fewer than MIN_SHINGLES distinct ones has no sketch)."""
    texts = [load_post(path, sample_posts).body for path in walk_posts(sample_posts)]
    edges = {  # a text: whether it has a sketch
        "abcdefghij" * 8: False,  # ASCII only: 71 shingles, 10 distinct
        "".join(chr(ord("a") + i % 26) + str(i) for i in range(60)): True,
        "é𠀀中" * 30 + "新闻" * 20: False,  # characters of 2, 4 and 3 bytes; 16 distinct shingles
        "é𠀀中" * 30 + "".join(f"新闻{i}" for i in range(20)): True,
        "哈" * 200: False,
        COMMON[:51]: True,  # MIN_SHINGLES shingles
        COMMON[:50]: False,  # one fewer
    }
    texts += list(edges)
    for text in texts:
        normalized = normalize(text)
        assert reprints.signature(normalized) == _datasketch_signature(normalized), text[:40]
    assert {text: reprints.signature(normalize(text)) != reprints.NO_SIGNATURE for text in edges} == edges


def test_a_story_gathers_round_its_leader_not_along_a_chain() -> None:
    """B is much like A and C much like B, but C little like A: C is no part of A's story."""
    rng = np.random.default_rng(7)
    a = rng.integers(0, 255, reprints.NUM_PERM, dtype=np.uint8)
    b, c = a.copy(), a.copy()
    b[40:] = rng.integers(0, 255, 24, dtype=np.uint8)  # 40 of 64 slots shared with A
    c[:24] = rng.integers(0, 255, 24, dtype=np.uint8)  # 40 shared with B, 16 with A
    c[40:] = b[40:]
    other = rng.integers(0, 255, reprints.NUM_PERM, dtype=np.uint8)
    none = np.frombuffer(reprints.NO_SIGNATURE, dtype=np.uint8)
    sketches = np.stack([a, b, c, other, none, a])
    alike = [float(reprints.similarity(x, y)) for x, y in ((a, b), (b, c), (a, c))]
    assert alike[2] < reprints.THRESHOLD <= min(alike[:2])
    live = np.array([True, True, True, True, True, False])  # the last, A's twin, is deleted
    assert reprints.stories(sketches, live).tolist() == [0, 0, 2, 3, 4, 5]
    assert reprints.stories(sketches, np.ones(6, bool)).tolist() == [0, 0, 2, 3, 4, 0]



def test_copies_of_one_text_lead_their_story_whatever_is_alike_to_them() -> None:
    """Posts with the same sketch are one story led by the first live copy; a post alike to them joins it,
    even when it comes first (as pairing every copy, the most alike pairs first, always made it)."""
    rng = np.random.default_rng(3)
    b = rng.integers(0, 255, reprints.NUM_PERM, dtype=np.uint8)
    a = b.copy()
    a[48:] = rng.integers(0, 255, 16, dtype=np.uint8)  # 48 of 64 slots shared: alike
    assert reprints.similarity(a, b) >= reprints.THRESHOLD
    others = rng.integers(0, 255, (30, reprints.NUM_PERM), dtype=np.uint8)
    sketches = np.concatenate([np.stack([a, b, b, b]), others, np.stack([b] * 20)])  # 23 copies, some far apart
    copies = [1, 2, 3, *range(34, 54)]
    found = reprints.stories(sketches, np.ones(len(sketches), bool))
    assert found[[0, *copies]].tolist() == [1] * 24
    assert found[4:34].tolist() == list(range(4, 34))
    live = np.ones(len(sketches), bool)
    live[1] = False  # the first copy deleted: the next one leads
    found = reprints.stories(sketches, live)
    assert found[1] == 1 and found[[0, *copies[1:]]].tolist() == [2] * 23

# --- reprints of sample posts --------------------------------------------------------


@pytest.fixture(scope="module")
def reprinted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample posts, REPORT reprinted three ways (on later days), and GULF reprinted
    under eleven other titles (more than a hit names)."""
    root = tmp_path_factory.mktemp("reprinted")
    posts = root / "posts"
    shutil.copytree(SAMPLES, posts)
    report = (SAMPLES / REPORT).read_text(encoding="utf-8")
    gulf = (SAMPLES / GULF).read_text(encoding="utf-8")
    lead = (
        "本报北京3月5日电 十三届全国人大二次会议开幕当天，"
        "代表委员们在驻地认真审议政府工作报告，围绕就业、减税和创新建言献策。"
    )
    extra = {
        "reprints/2019/report-lead.md": edited(report, lead=lead, days=1),
        "reprints/2019/report-title.md": edited(report, title="减税降费让企业心里有底", days=2),
        "reprints/2019/report-trim.md": edited(report, trim=3, days=3),
        **{f"reprints/2012/gulf-{i:02d}.md": edited(gulf, title=f"中海贸易会谈（转载之{i}）") for i in range(11)},
    }
    write_posts(posts, extra)
    return build(posts, root / "index")


REPORT_STORY = {REPORT, "reprints/2019/report-lead.md", "reprints/2019/report-title.md", "reprints/2019/report-trim.md"}


def test_reprints_collapse_into_one_hit_naming_the_others(reprinted: Path) -> None:
    engine = SearchEngine(reprinted)
    result = engine.search(REPORT_PHRASE)
    assert len(result.hits) == result.total == 1 and result.collapsed == 3
    [hit] = result.hits
    assert {hit.path, *(other.path for other in hit.similar)} == REPORT_STORY
    assert hit.similar_count == 3
    titles = {other.path: other.title for other in hit.similar}
    assert titles["reprints/2019/report-title.md"] == "减税降费让企业心里有底"
    every = engine.search(REPORT_PHRASE, collapse=False)
    assert {h.path for h in every.hits} == REPORT_STORY and every.total == 4 and every.collapsed == 0
    assert all(h.similar == [] and h.similar_count == 0 for h in every.hits)


def test_collapsed_by_date_the_newest_leads_and_the_others_follow_newest_first(reprinted: Path) -> None:
    result = SearchEngine(reprinted).search(REPORT_PHRASE, sort="date")
    [hit] = result.hits
    assert hit.path == "reprints/2019/report-trim.md"  # three days after the original
    dates = [other.date or "" for other in hit.similar]
    assert dates == sorted(dates, reverse=True) and all(hit.date or "" > d for d in dates)


def test_a_hit_names_at_most_ten_others_and_counts_them_all(reprinted: Path) -> None:
    result = SearchEngine(reprinted).search(GULF_PHRASE)
    [hit] = result.hits
    assert hit.similar_count == 11 and len(hit.similar) == SIMILAR_SHOWN == 10
    assert result.collapsed == 11


def test_facets_and_the_timeline_count_every_post(reprinted: Path) -> None:
    engine = SearchEngine(reprinted)
    for query in (REPORT_PHRASE, GULF_PHRASE, "经济"):
        folded, every = engine.search(query), engine.search(query, collapse=False)
        assert folded.collapsed > 0 and folded.total + folded.collapsed == every.total
        assert folded.facets == every.facets and folded.timeline == every.timeline


def test_more_like_this_leaves_out_the_posts_own_story(reprinted: Path) -> None:
    engine = SearchEngine(reprinted)
    for path, phrase in ((REPORT, REPORT_PHRASE), ("reprints/2012/gulf-03.md", GULF_PHRASE)):
        story = set(engine.all_paths(phrase))
        assert path in story and len(story) > 1
        related = {hit.path for hit in engine.more_like_this(path, limit=20)}
        assert related and not related & story


def test_all_paths_and_scored_stay_uncollapsed(reprinted: Path) -> None:
    engine = SearchEngine(reprinted)
    assert set(engine.all_paths(REPORT_PHRASE)) == REPORT_STORY
    _, paths = engine.scored(REPORT_PHRASE)
    assert set(paths) == REPORT_STORY


def test_the_cli_folds_reprints_and_lists_every_post_with_no_collapse(reprinted: Path) -> None:
    runner = CliRunner()
    folded = runner.invoke(cli, ["search", REPORT_PHRASE, "--index", str(reprinted)])
    assert folded.exit_code == 0, folded.output
    assert "1-1 of 1 results" in folded.output and "(+3 similar: " in folded.output
    assert "3 similar posts are listed under their stories" in folded.output
    every = runner.invoke(cli, ["search", REPORT_PHRASE, "--index", str(reprinted), "--no-collapse"])
    assert every.exit_code == 0 and "1-4 of 4 results" in every.output and "similar" not in every.output
    data = json.loads(runner.invoke(cli, ["search", REPORT_PHRASE, "--index", str(reprinted), "--json"]).output)
    assert data["total"] == 1 and data["collapsed"] == 3
    [hit] = data["hits"]
    assert hit["similar_count"] == 3
    assert {o["path"] for o in hit["similar"]} | {hit["path"]} == REPORT_STORY
    assert set(hit["similar"][0]) == {"path", "title", "date", "categories", "tags", "author"}


def test_the_api_collapses_unless_told_not_to(reprinted: Path) -> None:
    client = create_app({"INDEX_DIR": str(reprinted)}).test_client()
    folded = client.get("/api/search", query_string={"q": REPORT_PHRASE}).get_json()
    assert folded["total"] == 1 and folded["collapsed"] == 3 and folded["hits"][0]["similar_count"] == 3
    every = client.get("/api/search", query_string={"q": REPORT_PHRASE, "collapse": "0"}).get_json()
    assert every["total"] == 4 and every["collapsed"] == 0
    bad = client.get("/api/search", query_string={"q": REPORT_PHRASE, "collapse": "maybe"})
    assert bad.status_code == 400 and "collapse" in bad.get_json()["error"]


def test_the_page_shows_the_similar_reports_behind_a_details_element(reprinted: Path) -> None:
    client = create_app({"INDEX_DIR": str(reprinted)}).test_client()

    def page(**args: str) -> LexborHTMLParser:
        response = client.get("/", query_string=args)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert_safe_html(html)
        return LexborHTMLParser(html)

    def text(found: LexborNode | None) -> str:
        assert found is not None
        return found.text()

    def href(found: LexborNode | None) -> str:
        assert found is not None
        return found.attributes["href"] or ""

    [details] = page(q=GULF_PHRASE).css("li.result details.similar")
    assert text(details.css_first("summary")) == "另有 11 篇相似报道"
    links = details.css(".similar-posts a")
    assert len(links) == SIMILAR_SHOWN
    assert all(href(a).startswith("/post/reprints/2012/gulf-") and "q=" in href(a) for a in links)
    assert all(text(a).startswith("中海贸易会谈（转载之") for a in links)
    assert len(details.css(".similar-posts time")) == SIMILAR_SHOWN
    everything = href(details.css_first(".similar-all a"))
    assert "collapse=0" in everything
    listed = page(**{k: v[0] for k, v in parse_qs(urlsplit(everything).query).items()})
    assert len(listed.css("li.result")) == 10 and not listed.css("details.similar")
    assert "collapse=0" in href(listed.css_first("nav.pagination a[rel=next]"))
    three = page(q=REPORT_PHRASE)
    assert text(three.css_first("details.similar summary")) == "另有 3 篇相似报道"
    assert not three.css(".similar-all")  # all three are named


# --- real reprints of real news (the shared corpus) --------------------------------------

#: An index of real news with reprints made of some, each original's story, and posts wrapped in boilerplate.
News = tuple[Path, dict[str, set[str]], list[str]]
ROUNDUP = "联播快讯"
BOILERPLATE_OPENING = "央视网消息（新闻联播）：本台记者从有关方面获悉，以下是今天的详细报道，请继续关注本台的后续报道。"
BOILERPLATE_CLOSING = "（本文由总台新闻联播栏目提供，转载请注明出处。更多报道请关注央视新闻客户端和新闻联播官方微博。）"


@pytest.fixture(scope="module")
def corpus_posts(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 real news items of 2019, as the shared corpus writes them."""
    out = tmp_path_factory.mktemp("news") / "posts"
    return make_posts(shared, out, "--years", "2019", "--limit", "400", "--sources", "xwlb")


def _by_length(posts: Path) -> list[tuple[Path, str]]:
    """The posts (not roundups) with their text, most paragraphs first."""
    found = [(p, p.read_text(encoding="utf-8")) for p in sorted(posts.rglob("*.md"))]
    found = [(p, t) for p, t in found if ROUNDUP not in t.split("---")[1]]
    return sorted(found, key=lambda pt: -len(paragraphs(pt[1])))


@pytest.fixture(scope="module")
def news(corpus_posts: Path, tmp_path_factory: pytest.TempPathFactory) -> News:
    """The 400 items; five of the longest reprinted three ways each (lead, title, end);
    four others wrapped in one standard opening and closing. Returns the index, each
    original's story (by path) and the wrapped posts."""
    root = tmp_path_factory.mktemp("news-index")
    posts = root / "posts"
    shutil.copytree(corpus_posts, posts)
    ranked = _by_length(posts)
    originals, others = ranked[:5], ranked[5:]
    stories: dict[str, set[str]] = {}
    for number, (path, text) in enumerate(originals):
        other_text = originals[(number + 1) % len(originals)][1]
        new_title = re.search(r"(?m)^title: '(.*)'$", other_text)
        assert new_title is not None
        relative = path.relative_to(posts).as_posix()
        copies = {
            f"reprints/{number}/lead.md": edited(text, lead="（转载）" + paragraphs(other_text)[0][:60], days=1),
            f"reprints/{number}/title.md": edited(text, title=new_title.group(1), days=2),
            f"reprints/{number}/trim.md": edited(text, trim=max(1, len(paragraphs(text)) // 4), days=3),
        }
        write_posts(posts, copies)
        stories[relative] = {relative, *copies}
    wrapped = []
    for path, text in [(p, t) for p, t in others if len("".join(paragraphs(t))) >= 300][:4]:
        blocks = paragraphs(text)
        body = "".join([BOILERPLATE_OPENING, *blocks[:1]])
        text = edited(text, lead=body)
        last = list(_PARAGRAPH.finditer(text))[-1]
        path.write_text(text[: last.end(1)] + BOILERPLATE_CLOSING + text[last.end(1) :], encoding="utf-8")
        wrapped.append(path.relative_to(posts).as_posix())
    return build(posts, root / "index"), stories, wrapped


def _phrase(text: str) -> str:
    """The longest run of letters of the second paragraph, quoted: every reprint keeps it."""
    run = max(re.findall(r"\w+", paragraphs(text)[1]), key=len)
    return f'"{run[:12]}"'


@pytest.mark.corpus
def test_real_reprints_collapse_into_one_hit(news: News) -> None:
    index, stories, _ = news
    engine = SearchEngine(index)
    posts = index.parent / "posts"
    for original, story in stories.items():
        phrase = _phrase((posts / original).read_text(encoding="utf-8"))
        folded = stories_of(engine.search(phrase, limit=100))
        assert story in folded.values(), (original, folded)
        every = {hit.path for hit in engine.search(phrase, limit=100, collapse=False).hits}
        assert story <= every


@pytest.mark.corpus
def test_posts_sharing_only_boilerplate_stay_apart(news: News) -> None:
    index, _, wrapped = news
    engine = SearchEngine(index)
    roundups = engine.search(f"title:{ROUNDUP}", limit=100)
    assert roundups.total >= 20 and roundups.collapsed == 0
    assert len(wrapped) == 4
    shared = engine.search('"本台记者从有关方面获悉" "转载请注明出处"', limit=100)
    assert set(wrapped) <= {hit.path for hit in shared.hits}  # none folded into another


@pytest.mark.corpus
@pytest.mark.parametrize("sort", ["relevance", "date"])
def test_pages_of_stories_never_repeat_or_skip_one(news: News, sort: str) -> None:
    """Pages of 7 stories, one page of 100 and the uncollapsed order agree: each story
    once, as the first of its posts in the uncollapsed order, in that order."""
    index, stories, _ = news
    engine = SearchEngine(index)
    query = "新闻联播"
    story_of: dict[str, str] = {}
    listed = []
    for page in range(1, 100):
        result = engine.search(query, limit=100, page=page, sort=sort)
        for hit in result.hits:
            assert hit.similar_count == len(hit.similar)
            listed.append(hit.path)
            story_of.update((path, hit.path) for path in (hit.path, *(other.path for other in hit.similar)))
        if page >= result.pages:
            break
    every = engine.all_paths(query, sort=sort)
    assert set(every) == set(story_of) and len(every) == len(story_of)
    firsts = list(dict.fromkeys(story_of[path] for path in every))
    assert all(story_of[leader] == leader for leader in firsts)
    assert every_page(engine, query, 7, sort=sort) == listed == firsts
    first = engine.search(query, sort=sort)
    assert first.total == len(listed) and first.collapsed == len(every) - len(listed) >= 3 * len(stories)


@pytest.mark.parametrize("source", ["samples", pytest.param("corpus", marks=pytest.mark.corpus)])
def test_stories_follow_posts_as_they_come_and_go(source: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """A reprint added to an indexed folder joins its original's story; once the
    original is deleted, it stands alone."""
    root: Path = SAMPLES if source == "samples" else request.getfixturevalue("corpus_posts")
    posts = tmp_path / "posts"
    ranked = _by_length(root)
    for path, text in ranked[:30]:
        write_posts(posts, {path.relative_to(root).as_posix(): text})
    original_path, original = ranked[0]
    original_id = original_path.relative_to(root).as_posix()
    index = build(posts, tmp_path / "index")
    engine = SearchEngine(index)
    phrase = _phrase(original)
    assert [h.similar_count for h in engine.search(phrase).hits if h.path == original_id] == [0]

    write_posts(posts, {"reprints/lead.md": edited(original, lead="（转载）据新华社报道，", days=1)})
    build(posts, index)
    story = stories_of(engine.search(phrase))
    assert {original_id, "reprints/lead.md"} in story.values()

    (posts / original_id).unlink()
    build(posts, index)
    alone = engine.search(phrase)
    assert [(h.path, h.similar_count) for h in alone.hits] == [("reprints/lead.md", 0)]
    assert alone.collapsed == 0


def test_the_permutations_are_datasketchs() -> None:
    """The sketches an index stores depend on them: drawn as datasketch draws its own, without importing it."""
    a, b = reprints._permutations()
    expected = MinHash(num_perm=reprints.NUM_PERM, hashfunc=zlib.crc32, scheme="affine32").permutations
    assert a.dtype == b.dtype == np.uint32
    assert np.array_equal(a, expected[0]) and np.array_equal(b, expected[1])


def test_a_build_never_imports_datasketch_or_scipy(sample_posts: Path, tmp_path: Path) -> None:
    """datasketch loads scipy: a second and 45 MB in each build process, for two arrays of 64 numbers."""
    code = (
        "import sys\n"
        "from searchengine.indexer import BuildOptions, build_index\n"
        "report = build_index(sys.argv[1], sys.argv[2], BuildOptions(workers=1))\n"
        "assert report.added > 20, report\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in ('datasketch', 'scipy')))\n"
    )
    assert in_fresh_process(code, sample_posts, tmp_path / "index") == ["[]"]
