"""The normalizer and both token layers, on real text with real jieba."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from searchengine.analysis import (
    SENTENCE_GAP,
    AnalysisSettings,
    analyzer_for,
    char_codes,
    char_spans,
    char_tokens,
)
from searchengine.documents import load_post, walk_posts
from searchengine.normalize import normalize, normalize_with_offsets


@pytest.fixture(scope="module")
def settings() -> AnalysisSettings:
    return AnalysisSettings.from_dict_file()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＡＰＥＣ", "apec"),
        ("２０２４年", "2024年"),
        ("ＣＯＶＩＤ－１９", "covid-19"),
        ("習近平", "习近平"),
        ("臺灣颱風", "台湾台风"),
        ("國際貿易", "国际贸易"),
        ("Apec", "apec"),
    ],
)
def test_normalize_folds_width_case_and_script(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_offsets_lead_back_to_the_original_characters() -> None:
    text = "習近平……在ＡＰＥＣ㈱会议ß上"
    normalized, offsets = normalize_with_offsets(text)
    assert normalized == normalize(text)
    assert len(offsets) == len(normalized) + 1
    start = normalized.index("apec")
    assert text[offsets[start] : offsets[start + 4]] == "ＡＰＥＣ"
    start = normalized.index("习近平")
    assert text[offsets[start] : offsets[start + 3]] == "習近平"
    # "……" became "......": every dot maps back into the original ellipses
    dots = normalized.index("......")
    assert {text[offsets[i]] for i in range(dots, dots + 6)} == {"…"}


def test_normalizer_agrees_with_itself_on_every_sample_post(sample_posts: Path) -> None:
    for path in walk_posts(sample_posts):
        doc = load_post(path, sample_posts)
        for text in (doc.title, doc.body):
            normalized, offsets = normalize_with_offsets(text)
            assert normalized == normalize(text)
            assert offsets == sorted(offsets) and offsets[-1] == len(text)


def test_character_layer_gives_each_character_one_token() -> None:
    assert char_tokens("莫斯科模式") == [("^莫", 0), ("莫斯", 0), ("斯科", 1), ("科模", 2), ("模式", 3), ("式", 4)]
    # punctuation and spaces end a run, Latin letters and digits belong to
    # runs like Chinese does; a run of one character has no start marker
    assert char_tokens("问题，在apec 5g") == [
        ("^问", 0), ("问题", 0), ("题", 1),
        ("^在", 2), ("在a", 2), ("ap", 3), ("pe", 4), ("ec", 5), ("c", 6),
        ("^5", 7), ("5g", 7), ("g", 8),
    ]
    assert char_tokens("中") == [("中", 0)]
    assert char_tokens("，。！") == []


def test_positions_jump_where_a_sentence_ends() -> None:
    """A full stop, question mark, semicolon or line break between runs adds SENTENCE_GAP, once per gap."""
    gap = SENTENCE_GAP
    assert [(t, p) for t, p in char_tokens("大桥。通车") if not t.startswith("^")] == [
        ("大桥", 0), ("桥", 1), ("通车", 2 + gap), ("车", 3 + gap),
    ]
    assert [p for t, p in char_tokens("甲；乙？！\n丙，丁") if len(t) == 1] == [0, 1 + gap, 2 + 2 * gap, 3 + 2 * gap]


def _by_term(tokens: Iterable[tuple[str, int]]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for term, position in tokens:
        found.setdefault(term, []).append(position)
    return found


def test_the_indexers_character_codes_are_the_character_tokens(sample_posts: Path) -> None:
    """char_codes (numpy, for the indexer) gives char_tokens' tokens, each term's in position order."""
    texts = [
        "",
        "，。！",
        "中",
        "a",
        "莫斯科模式",
        "问题，在apec 5g",
        "大桥。通车",
        "甲；乙？！\n丙，丁",
        "𠀀𠀁a_b é。\n\nＡＰＥＣ…好",
    ]
    for path in walk_posts(sample_posts):
        doc = load_post(path, sample_posts)
        texts += [normalize(doc.title), normalize(doc.body)]
    for text in texts:
        codes = char_codes(text)
        assert len(codes) == len(char_tokens(text)), text[:30]
        assert _by_term(codes) == _by_term(char_tokens(text)), text[:30]


def test_character_spans_point_at_their_characters() -> None:
    normalized = normalize("俄外长拉夫罗夫表示，ＡＰＥＣ会议")
    tokens = char_spans(normalized)
    assert [(token, pos) for token, pos, _, _ in tokens] == char_tokens(normalized)
    for token, _, start, end in tokens:
        assert normalized[start:end] == token.lstrip("^")


def test_word_layer_puts_sub_words_at_the_word_position(settings: AnalysisSettings) -> None:
    tokens = analyzer_for(settings).word_tokens(normalize("中国农业发展银行"))
    assert tokens[0] == ("中国", 0)
    positions = {word: pos for word, pos in tokens}
    assert positions["农业发展银行"] == 1
    assert positions["农业"] == positions["发展"] == positions["银行"] == 1


def test_word_layer_drops_punctuation_and_counts_positions(settings: AnalysisSettings) -> None:
    tokens = analyzer_for(settings).word_tokens(normalize("阿富汗问题，莫斯科模式！"))
    words = [w for w, _ in tokens]
    assert "," not in words and "!" not in words
    main = [(w, p) for w, p in tokens if w in ("阿富汗", "问题", "莫斯科模式")]
    assert main == [("阿富汗", 0), ("问题", 1), ("莫斯科模式", 2)]


def test_word_spans_point_at_the_words(settings: AnalysisSettings) -> None:
    normalized = normalize("中国农业发展银行和卡布洛夫")
    spans = list(analyzer_for(settings).word_spans(normalized))
    assert [(word, pos) for word, pos, _, _ in spans] == analyzer_for(settings).word_tokens(normalized)
    for word, _, start, end in spans:
        assert normalized[start:end] == word


def test_word_tokens_are_the_word_spans_without_offsets(settings: AnalysisSettings, sample_posts: Path) -> None:
    """The indexer's loop (word_tokens) and the display's (word_spans) find the same words, sub-words included."""
    analyzer = analyzer_for(settings)
    for path in walk_posts(sample_posts):
        doc = load_post(path, sample_posts)
        for text in (normalize(doc.title), normalize(doc.body)):
            assert analyzer.word_tokens(text) == [(word, pos) for word, pos, _, _ in analyzer.word_spans(text)]


def test_user_dictionary_changes_segmentation(tmp_path: Path) -> None:
    sentence = normalize("他说彼得连科表示同意")
    plain = AnalysisSettings(user_dict="")
    assert "彼得连科" not in analyzer_for(plain).segment(sentence)
    custom = tmp_path / "names.txt"
    custom.write_text("彼得连科 50 nr\n", encoding="utf-8")
    with_name = AnalysisSettings.from_dict_file(custom)
    assert "彼得连科" in analyzer_for(with_name).segment(sentence)
    assert with_name.dict_hash != plain.dict_hash
    assert with_name.differences(plain) == [f"user dictionary {with_name.dict_hash} vs {plain.dict_hash}"]


def test_unreadable_user_dictionary_is_a_clear_error(tmp_path: Path) -> None:
    from searchengine.errors import SearchEngineError

    with pytest.raises(SearchEngineError, match="user dictionary .*missing.txt"):
        AnalysisSettings.from_dict_file(tmp_path / "missing.txt")
