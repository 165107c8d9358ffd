"""SQLite: the names' one- and two-character index as FTS5 tokens (migration 0016).

One row per customer in customers_search_names, indexed by customers_search_name_fts
(ascii tokenizer, detail=none). For each character of the customer's name and of its live
contacts' names, lower-cased (SQLite's lower(): ASCII letters):

    b<hex of the gram>    the character and the next one (chr(31) after the last)
    u<hex of the char>    the character alone
    o<owner id>b… / u…    both again for the owner
    c<user id>b… / u…     and for each co-owner

A two-character query is then one `b` token, a one-character query one `u` token, and a
user's own hits their `o`/`c` tokens: each a single list of customer ids, which FTS5
appends to per statement and merges in bulk (B-tree rows per gram dirtied a page each at
a million customers). The hex keeps every token inside the ascii tokenizer's word
characters whatever the name holds.

Migration 0016 imports names_insert: keep its SQL stable (a new format is a new migration).
name_tokens() makes the same string in Python, for a batch whose tokens are worked out
ahead (the import, in its second process: search.bulk); the tests hold both to one
rebuild from the models.
"""

from __future__ import annotations

from collections.abc import Iterable

_GRAM = "hex(lower(substr(d.name || char(31), s.i, 2)))"
_CHAR = "hex(lower(substr(d.name, s.i, 1)))"
_DOCS = "customers_search_doc d JOIN customers_search_seq s ON s.i <= length(d.name)"


def names_insert(docs: str) -> str:
    """INSERT the token rows of the customers whose docs `docs` selects (a condition on
    the doc `d`, e.g. on d.customer_id). The customers must have no row yet.

    Each character's gram and character are worked out once, in a subquery that LIMIT -1
    keeps from being merged into the outer one (merged, every use recomputes them), and
    joined into one string with the owner's tokens; co-owners (few) are a second branch.
    A customer without owner has no o-tokens."""
    return f"""INSERT INTO customers_search_names (customer_id, tokens)
        SELECT customer_id, group_concat(t, ' ') FROM (
            SELECT customer_id,
                   'b' || g || ' u' || u || coalesce(' o' || o || 'b' || g || ' o' || o || 'u' || u, '')
                   AS t
            FROM (SELECT d.customer_id, c.owner_id AS o, {_GRAM} AS g, {_CHAR} AS u
                  FROM {_DOCS} JOIN customers_customer c ON c.id = d.customer_id
                  WHERE {docs} LIMIT -1)
            UNION ALL
            SELECT d.customer_id,
                   'c' || co.user_id || 'b' || {_GRAM} || ' c' || co.user_id || 'u' || {_CHAR}
            FROM {_DOCS}
            JOIN customers_customer_co_owners co ON co.customer_id = d.customer_id
            WHERE {docs})
        GROUP BY customer_id ORDER BY customer_id"""


# SQLite's lower() without ICU: ASCII letters only.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_HEX: dict[str, str] = {}


def _hex(char: str) -> str:
    """SQLite's hex() of a character: its UTF-8 bytes, upper-case (kept per character; a
    gram's is its two characters' one after the other)."""
    found = _HEX.get(char)
    if found is None:
        found = _HEX[char] = char.encode().hex().upper()
    return found


def name_tokens(names: Iterable[str], *, owner_id: int | None, co_owner_ids: Iterable[int] = ()
                ) -> str:  # fmt: skip
    """The tokens names_insert writes for a customer whose docs have these names (the
    customer's, its live contacts'), owner and co-owners; "" when the names hold no
    character (names_insert writes no row then)."""
    prefixes = [f"o{owner_id}"] if owner_id is not None else []
    prefixes += [f"c{pk}" for pk in co_owner_ids]
    parts: list[str] = []
    for name in names:
        chars = [_hex(char) for char in name.translate(_ASCII_LOWER)]
        if not chars:
            continue
        for one, after in zip(chars, [*chars[1:], "1F"], strict=True):
            gram = one + after
            parts.append(f"b{gram} u{one}")
            parts.extend(f"{prefix}b{gram} {prefix}u{one}" for prefix in prefixes)
    return " ".join(parts)


def match_sql(text: str, *, viewer: int | None) -> tuple[str, list[object]]:
    """The FTS5 query (SQL and parameters) for a one- or two-character text: everyone's
    hits, or with `viewer` that user's as owner or co-owner."""
    kind = "u" if len(text) == 1 else "b"
    token = f"'{kind}' || hex(lower(%s))"
    if viewer is None:
        return token, [text]
    return f"'o' || %s || {token} || ' OR c' || %s || {token}", [viewer, text, viewer, text]
