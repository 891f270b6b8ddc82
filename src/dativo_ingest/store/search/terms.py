"""Words of search queries and indexed text, folded as the FTS5 tokenizer folds them."""

from __future__ import annotations

import re
import unicodedata

MAX_TERMS = 16


def terms_of(query: str | None) -> list[str]:
    """Search words of a free-text query (lower case, at most :data:`MAX_TERMS`)."""
    return re.findall(r"\w+", (query or "").lower())[:MAX_TERMS]


def fold(text: str) -> str:
    """Lower case without diacritics, as the FTS5 tokenizer folds (``unicode61 remove_diacritics 2``)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def indexed_words(text: str) -> set[str]:
    """The words FTS5 indexes in ``text`` (the word list query words complete against)."""
    return set(re.findall(r"[^\W_]+", fold(text)))
