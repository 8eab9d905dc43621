"""The ranking's features on real posts, explained hits, and the ranking model as data (issue #10)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from searchengine import SearchEngine
from searchengine.cli import main
from searchengine.errors import SearchEngineError
from searchengine.ranking_model import FEATURES, MODEL_FILE, Ranking
from searchengine.structure import brief_items, letter_count
from tooling import build, write_posts

ROUNDUP = """央视网消息（新闻联播）：国内联播快讯。
——青岛港吞吐量超三亿吨
青岛港今年以来的吞吐量日前超过三亿吨，成为我国第五个过三亿吨的大港，港珠澳大桥方向的航线也已开通。
——卫星导航年会开幕
首届中国卫星导航与位置服务年会今天在北京开幕，近百个我国自主研发的导航产品首次亮相。
——浙江举行人民防空演习
浙江省、市、县、镇四级联动举行的人民防空演习今天结束，检验了联合指挥机制。
——国际金融博物馆开放
国内首个国际金融博物馆在北京建成并向公众开放，展示面积达到两千平方米。
——青岛世园会会徽揭晓
青岛世界园艺博览会会徽、吉祥物今天在北京揭晓，世园会将于明年四月举行。
"""

ARTICLE = """央视网消息（新闻联播）：本台记者今天从交通运输部获悉，今年以来全国港口吞吐量稳步增长。
各地加快建设现代化港口群，港珠澳大桥方向的航线也已开通，区域物流成本明显下降。
交通运输部表示，下一步将继续推进港口智慧化改造，提升服务水平。
"""

POSTS = {
    "ranking/whole-title.md": """---
title: 港珠澳大桥
date: 2018-10-24 09:00:00
---

今天，各界人士参观了这座超级工程。港珠澳大桥全长五十五公里，是世界最长的跨海大桥之一。
""",
    "ranking/body-only.md": """---
title: 工程建设一线见闻
date: 2024-05-01 09:00:00
---

记者走访了多个工地。港珠澳大桥的建设者们介绍了施工经验。一位工程师说，港珠澳大桥的经验值得推广。
""",
    "ranking/near.md": """---
title: 交通新闻一
date: 2020-01-01 09:00:00
---

今年，一座新的跨江大桥正式通车，沿线居民出行时间大大缩短，当地经济有望加快发展。
""",
    "ranking/apart.md": """---
title: 交通新闻二
date: 2020-01-01 09:00:00
---

今年，当地建成了一座新的跨江大桥。通车时间将另行通知，沿线居民出行时间有望缩短。
""",
    # Markdown joins lines into one paragraph: each line is its own here, as in the corpus's HTML.
    "ranking/roundup.md": f"""---
title: 国内联播快讯
date: 2019-01-03 09:00:00
---

{ROUNDUP.replace(chr(10), chr(10) * 2)}
""",
    "ranking/article.md": f"""---
title: 全国港口吞吐量稳步增长
date: 2019-01-03 09:00:00
---

{ARTICLE.replace(chr(10), chr(10) * 2)}
""",
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> SearchEngine:
    root = tmp_path_factory.mktemp("ranking")
    return SearchEngine(build(write_posts(root / "posts", POSTS), root / "index"))


def _explained(engine: SearchEngine, query: str) -> dict[str, object]:
    return {hit.path: hit.explain for hit in engine.search(query, explain=True, limit=50).hits}


# --- features ------------------------------------------------------------------


def test_a_post_whose_title_is_the_query_ranks_first_and_says_why(engine: SearchEngine) -> None:
    """Newer, with the term twice in its body, the other post still ranks below the one titled by the query."""
    hits = engine.search("港珠澳大桥", explain=True).hits
    assert hits[0].path == "ranking/whole-title.md"
    why = hits[0].explain
    assert why is not None
    assert why.features["title"] == 1.0 and why.features["title_cover"] == 1.0 and why.features["title_whole"] == 1.0
    assert why.parts["title_cover"] > 0 and why.parts["title"] > 0
    body_only = next(hit.explain for hit in hits if hit.path == "ranking/body-only.md")
    assert body_only is not None and "title" not in body_only.features


def test_proximity_counts_within_a_sentence_only(engine: SearchEngine) -> None:
    """大桥 and 通车 one character apart across a full stop are in different sentences: no bonus."""
    explained = _explained(engine, "大桥 通车")
    near, apart = explained["ranking/near.md"], explained["ranking/apart.md"]
    # 大桥正式通车: 通车 starts four characters after 大桥.
    assert near.features["proximity"] == pytest.approx(1 / (1 + 4 / 8), abs=1e-4)  # type: ignore[attr-defined]
    assert "proximity" not in apart.features  # type: ignore[attr-defined]
    paths = [hit.path for hit in engine.search("大桥 通车").hits]
    assert paths.index("ranking/near.md") < paths.index("ranking/apart.md")


def test_a_phrase_across_a_sentence_end_is_still_found_exactly(engine: SearchEngine) -> None:
    """Positions jump at a full stop in posts and queries alike, so a quoted phrase spanning one still matches."""
    assert engine.all_paths('"大桥。通车"') == ["ranking/apart.md"]
    assert engine.all_paths('"大桥，通车"') == []
    assert engine.all_paths('"大桥正式通车"') == ["ranking/near.md"]


def test_a_roundup_of_briefs_gets_the_prior_and_an_article_does_not(engine: SearchEngine) -> None:
    explained = _explained(engine, "港珠澳大桥 航线")
    roundup, article = explained["ranking/roundup.md"], explained["ranking/article.md"]
    assert roundup.features["briefs"] == 1.0  # type: ignore[attr-defined]
    assert roundup.parts["briefs"] < 0  # type: ignore[attr-defined]
    assert "briefs" not in article.features  # type: ignore[attr-defined]
    paths = [hit.path for hit in engine.search("港珠澳大桥 航线").hits]
    assert paths.index("ranking/article.md") < paths.index("ranking/roundup.md")


def test_roundups_are_told_by_layout_not_by_title() -> None:
    assert brief_items(ROUNDUP) == 5
    assert brief_items(ARTICLE) == 0
    # One subheading in an article is one item, not a roundup.
    assert brief_items("导语。\n一、总体情况\n今年全国经济运行总体平稳，主要指标好于预期。") == 1
    assert letter_count("港珠澳大桥，今天通车！") == 9


# --- explain -------------------------------------------------------------------


def test_an_explanation_adds_up_and_names_where_each_term_matched(engine: SearchEngine) -> None:
    result = engine.search("港珠澳大桥 经验", explain=True)
    assert result.hits
    for hit in result.hits:
        why = hit.explain
        assert why is not None
        assert sum(why.parts.values()) == pytest.approx(why.score, abs=1e-3)
        assert why.exact_terms == 2 and why.terms == 2
        assert set(why.parts) <= set(FEATURES)
    body_only = result.hits[0].explain
    assert result.hits[0].path == "ranking/body-only.md" and body_only is not None
    assert [(c.text, c.exact, c.fields) for c in body_only.clauses] == [
        ("港珠澳大桥", True, ["body"]),
        ("经验", True, ["body"]),
    ]
    assert engine.search("港珠澳大桥").hits[0].explain is None


def test_cli_explain_prints_the_parts_and_json_carries_them(engine: SearchEngine) -> None:
    printed = CliRunner().invoke(main, ["search", "港珠澳大桥", "--index", str(engine.index_dir), "--explain"])
    assert printed.exit_code == 0, printed.output
    assert "score " in printed.output and "+ title_cover " in printed.output
    assert "港珠澳大桥: exact in title and body" in printed.output
    assert "order: exact terms, then score; newer first among" in printed.output
    data = json.loads(
        CliRunner()
        .invoke(main, ["search", "港珠澳大桥", "--index", str(engine.index_dir), "--explain", "--json"])
        .output
    )
    assert data["hits"][0]["explain"]["features"]["title_whole"] == 1.0
    plain = json.loads(
        CliRunner().invoke(main, ["search", "港珠澳大桥", "--index", str(engine.index_dir), "--json"]).output
    )
    assert "explain" not in plain["hits"][0]


# --- the model as data -----------------------------------------------------------


def test_the_shipped_model_was_trained_and_names_known_features_only() -> None:
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert data["trained"]["by"] == "scripts/train_ranking.py"
    model = Ranking.load()
    assert set(model.weights) <= set(FEATURES) and model.weights["exact"] == 1.0
    assert all(weight >= 0 for name, weight in model.weights.items() if name != "briefs")


def test_a_bad_model_file_is_refused_naming_it(tmp_path: Path) -> None:
    broken = tmp_path / "model.json"
    broken.write_text('{"model": {"weights": {"clicks": 1.0}}}', encoding="utf-8")
    with pytest.raises(SearchEngineError, match=r"model\.json.*unknown features \['clicks'\]"):
        Ranking.load(broken)
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(SearchEngineError, match=r"model\.json: cannot read"):
        Ranking.load(broken)


def test_another_model_changes_the_order(engine: SearchEngine) -> None:
    """A model is only numbers: with the title weighing nothing, the post naming the term twice in its body wins."""
    flat = Ranking(title_weight=0.0, weights={"exact": 1.0})
    other = SearchEngine(engine.index_dir, ranking=flat)
    assert other.search("港珠澳大桥").hits[0].path == "ranking/body-only.md"
