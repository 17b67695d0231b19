"""The full-text index of tasks, scoped by owner on both databases.

Every term of the index is the owner's key (16 hex digits of the MD5 of the owner id)
glued to a word of the task's title or description, for example
`3f0c9a1b7e2d4c55review`. A search for `rev` looks up the terms that start with
`3f0c9a1b7e2d4c55rev`: it reads one owner's entries only, so its cost does not grow with
other users' data. The key only narrows the search; queries still filter on the owner id,
so two owners whose keys collide would see nothing of each other.

- SQLite: a contentless FTS5 table `tasks_fts` (rowid = tasks.seq, no positions), kept in
  step by triggers that call `taskstream_search_terms(owner_id, title, description)`, a
  function every connection registers (`register_sqlite_functions`). FTS5's `unicode61`
  tokenizer folds case and diacritics, on the indexed terms and the query alike.
- PostgreSQL: the generated column `tasks.search` holds the same terms as a tsvector
  (`taskstream_search_vector`), under a GIN index; `taskstream_search_query` turns a
  phrase into the matching tsquery with the same parser, so both sides split words alike.

A word of the query matches as a prefix when it has at least `MIN_PREFIX` characters,
otherwise as a whole word: a one-letter prefix would match most of a user's tasks.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Final

MIN_PREFIX: Final = 2
"""Query words this long or longer match as prefixes; shorter ones as whole words."""

_WORD: Final = re.compile(r"[^\W_]+")
"""Letters and digits: what FTS5's unicode61 tokenizer keeps as a token (underscore splits)."""


def owner_key(owner_id: str) -> str:
    """The 16-hex-digit prefix of every index term of this owner (as `left(md5(...), 16)`)."""
    return hashlib.md5(owner_id.encode(), usedforsecurity=False).hexdigest()[:16]


def words(phrase: str) -> list[str]:
    """The words of a phrase, lower-cased, in order, without repeats."""
    return list(dict.fromkeys(word.lower() for word in _WORD.findall(phrase)))


def sqlite_terms(owner_id: str, title: str, description: str) -> str:
    """What the FTS5 table indexes for one task: the owner's terms, space-separated."""
    key = owner_key(owner_id)
    return " ".join(key + word for word in words(f"{title} {description}"))


def sqlite_match(owner_id: str, query_words: list[str]) -> str:
    """An FTS5 MATCH expression: every word, within this owner's terms."""
    key = owner_key(owner_id)
    return " AND ".join(
        f'"{key}{word}"' + ("*" if len(word) >= MIN_PREFIX else "") for word in query_words
    )


def register_sqlite_functions(dbapi_connection: Any) -> None:
    """Make `taskstream_search_terms` (used by the FTS triggers) known to a connection."""
    dbapi_connection.create_function("taskstream_search_terms", 3, sqlite_terms, deterministic=True)
