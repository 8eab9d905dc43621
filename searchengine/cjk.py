"""The characters of Chinese, Japanese and Korean text: one table, three questions.

* Which characters belong to scripts written without spaces between words
  (:data:`WORD_SCRIPTS`)? jieba finds their words, and a Latin or digit word
  next to one of them still ends there (``apec会议`` holds the word ``apec``).
* Beside which letters is a typed space no space at all
  (:data:`SPACELESS`)? Readers and editors put spaces between Chinese words
  (``工人伟大 劳动光荣``), and between Chinese and Latin (``APEC 领导人``);
  normalization removes them, so spacing never decides a match.
* Between which characters is a source line break no space at all
  (:data:`UNSPACED`)? CSS's rule for Chinese and Japanese: the post's source
  wraps lines mid-phrase (``阿富\\n汗``), which must read as ``阿富汗`` when
  indexing and when highlighting. Hangul is left out, as CSS leaves it out:
  Korean separates words with spaces.

The ranges are written for a regular-expression character class.
"""

from __future__ import annotations

import re

__all__ = ["WORD_SCRIPTS", "SPACELESS", "UNSPACED", "join_lines"]

# Han ideographs: the unified blocks with extensions A to H, and compatibility forms.
_IDEOGRAPHS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# 々 〇 and the Suzhou numerals and other ideographic marks that behave as letters.
_IDEOGRAPHIC_LETTERS = "\u3005\u3007\u3021-\u3029\u3038-\u303b"
_KANA = "\u3040-\u30ff"
_HANGUL = "\uac00-\ud7af"
# Radicals, CJK punctuation (including the letters above), bopomofo, kanbun,
# enclosed and compatibility characters, vertical and full-width forms, and the
# curly quotes, dash, ellipsis and middle dot that Chinese text uses.
_PUNCTUATION = (
    "\u2e80-\u2fff\u3001-\u303f\u3100-\u312f\u3190-\u31ff\u3200-\u33ff"
    "\ufe30-\ufe4f\uff01-\uff60\uffe0-\uffe6\u2018\u2019\u201c\u201d\u2014\u2026\u00b7"
)

#: Scripts written without spaces between words.
WORD_SCRIPTS = _IDEOGRAPHS + _IDEOGRAPHIC_LETTERS + _KANA + _HANGUL
#: Letters beside which a space means nothing: Chinese and Japanese (Korean
#: spaces its words, so Hangul is not here). ``中国 记协`` is ``中国记协``, and
#: ``APEC 领导人`` is ``APEC领导人``.
SPACELESS = _IDEOGRAPHS + _IDEOGRAPHIC_LETTERS + _KANA
#: Characters between which a line break vanishes.
UNSPACED = _IDEOGRAPHS + _KANA + _PUNCTUATION

_LINE_BREAK = re.compile(rf"(?<=[{UNSPACED}])\s*\n\s*(?=[{UNSPACED}])")


def join_lines(text: str) -> str:
    """Remove each line break (with the spaces around it) that stands between two
    :data:`UNSPACED` characters; other line breaks are left as they are."""
    return _LINE_BREAK.sub("", text) if "\n" in text else text
