"""The name of every field an index stores: defined here once, used everywhere.

A module of plain constants (importing it loads nothing else), so that light
code — the facet table, the CLI's options — can name fields without loading
whoosh. :mod:`searchengine.store.schema` says what each field holds.
"""

__all__ = [
    "PATH", "TITLE", "BODY", "HTML", "CATEGORY", "TAG", "AUTHOR", "PUBLISHED", "IMAGES", "SOURCE", "HASH",
    "DOCINFO", "STATE", "SKETCH", "TITLE_WORDS", "TITLE_CHARS", "BODY_WORDS", "BODY_CHARS", "LAYERS", "KEYWORD_FIELDS",
]

# Stored values.
PATH, TITLE, BODY, HTML = "path", "title", "body", "html"
CATEGORY, TAG, AUTHOR = "category", "tag", "author"
PUBLISHED, IMAGES, SOURCE, HASH = "published", "images", "source", "hash"
# Columns.
DOCINFO, STATE, SKETCH = "docinfo", "state", "sketch"
# Token layers.
TITLE_WORDS, TITLE_CHARS, BODY_WORDS, BODY_CHARS = "title_w", "title_c", "body_w", "body_c"
LAYERS = (TITLE_WORDS, TITLE_CHARS, BODY_WORDS, BODY_CHARS)
#: Keyword fields a post has any number of values of: filters and facets.
KEYWORD_FIELDS = (CATEGORY, TAG, AUTHOR)
