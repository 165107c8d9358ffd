"""Chinese substring search over the customer archive (ADR 0005).

What matches: a live customer whose name, credit code or phone, or one of whose live
contacts' name, mobile or phone, contains the query (ASCII letters in any case). Queries of
one or two characters match names only (customer and contact names): a one- or
two-character fragment of a number is in most of the archive and is not a search anyone
means; the last four digits of a mobile are a three-plus query like any other.

The index is kept by database triggers (migration 0006): customers_search_doc holds one
row per customer and per live contact; SQLite indexes its text with FTS5 (trigram
tokenizer), PostgreSQL with a pg_trgm GIN index. Trigram indexes cannot answer shorter
queries, so the names' one- and two-character grams are indexed too, everyone's and once
more per owner and co-owner of the customer: a user whose scope is their own customers
(own_scope_user) reads only their own hits. On PostgreSQL they are B-tree rows
(customers_search_gram, and customers_search_viewer_gram of migration 0008); on SQLite
FTS5 tokens, one row per customer (customers_search_name_fts, migration 0016,
search.tokens), because inserting gram rows all over trees of tens of millions of rows
was most of an import's cost at a million customers. The hits of a 3+ query are marked
the user's or not on the narrow customers_search_doc_owner table, so the list probes only
the customers they may see. On PostgreSQL such a user's 3+ query reads
customers_search_viewer_doc instead (migration 0010: the docs once per owner and co-owner,
a trigram GIN index keyed by viewer): their own hits only, with no recheck of everyone
else's.

Two plans give the same rows (the tests run both):
- selective query: the customer ids come from the index and are joined to the list;
  its cost grows with the number of matches;
- common query (e.g. 公司): the list is read in its own order and each row is tested with
  LIKE on its fields until the page is full; its cost shrinks as matches get commoner.
The crossing point is COMMON_MATCHES index hits for an all-scope user and grows for users
who see a part of the archive (common_threshold). Choosing reads the index hits up to
that bound (a bounded index scan); for a selective query the same read gives the ids.
On SQLite a common query with up to MEMBER_MATCHES hits tests each row of the walk by
membership in its hits (`+id IN (hits)`, checked on the list index's entry before the row
is read) rather than by LIKE on the row and its contacts. On PostgreSQL (_parse_by_ids)
the ids read for the choice are passed back and tested on the entries of a covering index
in the list's order (migration 0011), never reading a row; a 3+ query is first estimated
on a sample of the docs, so that a common term's hits are not read at all.
"""

from __future__ import annotations

import json
import math
import time
import unicodedata
from dataclasses import dataclass, replace
from typing import Any

from django.db import connection
from django.db.models import (
    BooleanField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    TextField,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat
from django.db.models.lookups import Contains, IContains, In, IsNull

from guanxi.core.china import normalise_credit_code
from guanxi.customers.search import tokens

# Longest query the index is asked (forms allow 100 characters).
MAX_QUERY = 100
# Queries up to this length use the gram table (and match names only).
SHORT_QUERY = 2
# Above this many index hits a query counts as common: the list is read in its own order.
COMMON_MATCHES = 5000
# A common query with at most this many hits (an all-scope user; more for users who see a
# part of the archive, up to MAX_MEMBERS) is tested by membership in its hits; above, by
# LIKE on the fields.
MEMBER_MATCHES = 30_000
MAX_MEMBERS = 100_000
# Where the membership test is cheap: SQLite tests `+id IN (hits)` on the list index's
# entry before reading the row; PostgreSQL tests the hits' ids (read once, hashed) on the
# entries of the list's covering index (migration 0011), in the list's order.
MEMBERS_VENDORS = frozenset({"sqlite", "postgresql"})
# Where the membership plan tests the ids the choice read (passed back as one array)
# rather than re-reading the hits: PostgreSQL hashes an unnest of known size once, while a
# subquery of misjudged size may be planned as a per-row subplan; and a trigram hit costs
# a heap page there (the recheck), too much to read twice.
MEMBER_IDS_VENDORS = frozenset({"postgresql"})
# Where it is, the index plan of a one- or two-character query stops earlier: above this
# many hits (an all-scope user; more for a partial scope) probing each hit costs more than
# the membership walk (measured at a million customers: a salesperson's 1,500–5,000-hit
# names went from ~35 to ~13 ms). Not for 3+ queries: their hits are read again for the
# walk, and a trigram query of digits costs more to read than the probes it saves.
MEMBER_SELECTIVE = 1500
# PostgreSQL: the most trigram hits a 3+ query reads for the membership plan (an
# all-scope user; grown by 1/sqrt(share)). Reading a hit costs a heap page (~4 µs at a
# million, in the OS cache), the LIKE plan ~12 µs per row of its walk of N / hits rows per
# page row: they cross near 12,000 hits (5,705 hits: 98 ms by LIKE; 8,029: 81 ms).
MEMBER_LONG_MATCHES = 12_000
# The share of the doc table's pages sampled to estimate a 3+ query's hits (sampled_hits).
SAMPLE_PERCENT = 0.25
# Where a user's own 3+ hits are read from their own docs (customers_search_viewer_doc,
# migration 0010: a trigram index keyed by viewer) rather than from every trigram hit.
VIEWER_DOC_VENDORS = frozenset({"postgresql"})


@dataclass(frozen=True)
class Query:
    """A cleaned search text and the plan chosen for it."""

    text: str
    variants: tuple[str, ...]  # the text, plus its credit-code form when that differs
    common: bool
    # Selective plan: the customer ids the index found (read once, then passed to the
    # list query as one parameter). Also a membership plan's hits on PostgreSQL
    # (MEMBER_IDS_VENDORS), tested on each entry of the list's covering index.
    ids: tuple[int, ...] = ()
    # Common plan: rows tested by membership in the index hits (else by LIKE); `viewer`:
    # the user whose own viewer grams answer a short query (own_scope_user).
    members: bool = False
    viewer: int | None = None

    @property
    def short(self) -> bool:
        return len(self.text) <= SHORT_QUERY


def clean(text: str) -> str:
    """Strip, drop control characters (the index separates fields with one) and cap."""
    text = "".join(ch for ch in (text or "") if unicodedata.category(ch)[0] != "C")
    return text.strip()[:MAX_QUERY]


def _variants(text: str) -> tuple[str, ...]:
    variants = [text]
    code = normalise_credit_code(text)
    if len(code) > SHORT_QUERY and code.lower() != text.lower() and len(text) > SHORT_QUERY:
        variants.append(code)
    return tuple(variants)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# Unicode categories without case (Chinese, digits, punctuation, symbols, spaces): a
# query of these alone matches the same rows case-sensitively. PostgreSQL's ILIKE lowers
# every row it tests (3x the CPU of LIKE on the docs; UPPER() on every row of a LIKE walk).
_CASELESS = frozenset(
    {"Lo", "Nd", "Nl", "No", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs"}
)


def _caseless(query: Query) -> bool:
    return all(unicodedata.category(ch) in _CASELESS for text in query.variants for ch in text)


def _like(query: Query) -> str:
    """The operator testing the docs' body: LIKE for a caseless query, else ILIKE."""
    return "LIKE" if _caseless(query) else "ILIKE"


def _fts_phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def hits_sql(query: Query, *, viewer: int | None = None) -> tuple[str, list[Any]]:
    """SQL selecting (customer id, mine) for the index hits of the query (may repeat an id;
    includes deleted customers, which the list excludes).

    Without `viewer`, every hit (mine = 1). With `viewer` (a user whose scope is their own
    customers), a one- or two-character query reads that user's viewer grams only (every
    row is theirs); a longer one reads every trigram hit and marks with `mine` those the
    user owns or co-owns (doc_owner and co-owner lookups, not the wide customer row)."""
    vendor = connection.vendor
    if query.short and vendor == "sqlite":
        # the names' tokens (migration 0016, search.tokens): one list per token
        match, params = tokens.match_sql(query.text, viewer=viewer)
        return (
            "SELECT rowid AS customer_id, 1 AS mine FROM customers_search_name_fts "
            f"WHERE customers_search_name_fts MATCH {match}",
            params,
        )
    if query.short:
        top = "chr(1114111)"
        if len(query.text) == 1:
            # every occurrence of c starts a gram "c?" (the last character of a name is
            # stored followed by chr(31)), so a one-character query is a range scan.
            where, params = f"gram >= lower(%s) AND gram < lower(%s) || {top}", [query.text] * 2
        else:
            where, params = "gram = lower(%s)", [query.text]
        if viewer is None:
            return f"SELECT customer_id, 1 FROM customers_search_gram WHERE {where}", params
        return (
            "SELECT customer_id, 1 FROM customers_search_viewer_gram "
            f"WHERE viewer IN (%s, %s) AND {where}",
            [viewer, -viewer, *params],
        )
    if viewer is not None and vendor in VIEWER_DOC_VENDORS:
        # the viewer's own docs (migration 0010): one GIN scan per key, owner and co-owner
        # (bigint: an int4 parameter is not an operator of btree_gin's int8 class)
        where = " OR ".join([f"body {_like(query)} %s"] * len(query.variants))
        patterns = [_like_pattern(v) for v in query.variants]
        own = (
            "SELECT customer_id, 1 FROM customers_search_viewer_doc "
            f"WHERE viewer = %s::bigint AND ({where})"
        )
        return f"{own} UNION ALL {own}", [viewer, *patterns, -viewer, *patterns]
    mine, mine_params = "1", []
    if viewer is not None:
        # A subquery per hit, not a join: PostgreSQL misjudges the trigram hits and would
        # hash the whole doc_owner table to join a few hundred of them.
        mine = (
            "((SELECT o.owner_id FROM customers_search_doc_owner o WHERE o.source = d.source)"
            " = %s OR d.customer_id IN (SELECT customer_id "
            "FROM customers_customer_co_owners WHERE user_id = %s))"
        )
        mine_params = [viewer, viewer]
    if vendor == "sqlite":
        # A customer's own doc is source 2 x id: only contact hits (odd sources) need the
        # doc row for their customer — a doc probe per hit was most of the cost of a
        # common term. (Two plain branches, not a CASE with a subquery: SQLite then tests
        # membership in these hits from the list's index entry, before reading the row.)
        phrase = " OR ".join(_fts_phrase(v) for v in query.variants)
        fts = "customers_search_fts"
        sql = (
            f"SELECT d.customer_id, {mine} FROM ("
            f"SELECT rowid AS source, rowid / 2 AS customer_id FROM {fts} "
            f"WHERE {fts} MATCH %s AND rowid %% 2 = 0 "
            "UNION ALL "
            f"SELECT doc.source, doc.customer_id FROM {fts} "
            f"JOIN customers_search_doc doc ON doc.source = {fts}.rowid "
            f"WHERE {fts} MATCH %s AND {fts}.rowid %% 2 = 1) AS d"
        )
        return sql, [*mine_params, phrase, phrase]
    where = " OR ".join([f"d.body {_like(query)} %s"] * len(query.variants))
    return (
        f"SELECT d.customer_id, {mine} FROM customers_search_doc d WHERE {where}",
        [*mine_params, *(_like_pattern(v) for v in query.variants)],
    )


def _count_sql(query: Query, *, viewer: int | None) -> tuple[str, list[Any]]:
    """SQL selecting one row per index hit, as cheaply as it can be read (no customer)."""
    if connection.vendor == "sqlite" and not query.short:
        phrase = " OR ".join(_fts_phrase(v) for v in query.variants)
        return "SELECT rowid FROM customers_search_fts WHERE customers_search_fts MATCH %s", [
            phrase
        ]
    return hits_sql(query, viewer=viewer)


def hit_count(query: Query, *, limit: int, viewer: int | None = None) -> int:
    """The number of index hits, read up to limit + 1."""
    sql, params = _count_sql(query, viewer=viewer)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({sql} LIMIT {int(limit) + 1}) AS hits", params)
        return int(cursor.fetchone()[0])


def hit_ids(
    query: Query, *, limit: int | None = None, viewer: int | None = None
) -> tuple[int, ...] | None:
    """The distinct customer ids among the index hits (only the viewer's own with
    `viewer`); None when more than `limit` rows are read (a bounded index scan decides
    that: the viewer's rows for a short query, every trigram hit for a longer one)."""
    sql, params = hits_sql(query, viewer=viewer)
    bound = f" LIMIT {int(limit) + 1}" if limit is not None else ""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # one row: the count and the distinct ids as one array (thousands of row
            # tuples cost Python time and garbage collections)
            cursor.execute(
                "SELECT count(*), array_agg(DISTINCT h.customer_id) FILTER (WHERE h.mine <> 0) "
                f"FROM ({sql}{bound}) AS h(customer_id, mine)",
                params,
            )
            found, ids = cursor.fetchone()
            if limit is not None and found > limit:
                return None
            return tuple(ids or ())
        cursor.execute(f"{sql}{bound}", params)
        rows = cursor.fetchall()
    if limit is not None and len(rows) > limit:
        return None
    return tuple(sorted({row[0] for row in rows if row[1]}))


def own_scope_user(actor: Any) -> int | None:
    """The actor's user id when their view scope is their own customers only (owned or
    co-owned: the "self" data scope, or no role), whose hits the viewer grams answer;
    None for everyone else (all, departments), whose hits come from the whole index."""
    from guanxi.org.scopes import VIEW, resolve_scope

    if actor is None:
        return None
    scope = resolve_scope(actor, VIEW)
    if scope.everything or scope.nothing or scope.department_ids or scope.user_id is None:
        return None
    return int(scope.user_id)


# Plan choices by text and user, for a minute: the page view and the selector ask for the
# same text within one request. Only the choice is kept, never the ids: a stale choice
# costs speed, never rows (both plans give the same rows). A membership plan by ids
# (MEMBER_IDS_VENDORS) reads its ids again: `reread`.
_PLANS: dict[tuple[str, str, int | None], tuple[bool, float, bool, bool]] = {}
# (common, until, members, reread)
PLAN_SECONDS = 60.0
# The share of the archive a user sees, estimated on the newest customers, for 5 minutes.
_SHARES: dict[tuple[str, int | None], tuple[float, float]] = {}
SHARE_SECONDS = 300.0
SCOPE_SAMPLE = 1000
MIN_SHARE = 0.0025
MAX_SELECTIVE = 100_000


def clear_plan_cache(*, shares: bool = True) -> None:
    _PLANS.clear()
    if shares:
        _SHARES.clear()


def scope_share(actor: Any) -> float:
    """The share of the archive the actor sees (1 for an all-scope user), estimated on the
    SCOPE_SAMPLE most recently updated customers: two small queries, cached a while."""
    from guanxi.customers.models import Customer
    from guanxi.org.scopes import VIEW, resolve_scope

    if actor is None:
        return 1.0
    scope = resolve_scope(actor, VIEW)
    if scope.everything or scope.nothing:
        return 1.0
    key, now = (connection.alias, actor.pk), time.monotonic()
    cached = _SHARES.get(key)
    if cached is not None and cached[1] > now:
        return cached[0]
    newest = list(
        Customer.objects.order_by("-updated_at", "-id").values_list("pk", flat=True)[:SCOPE_SAMPLE]
    )
    seen = Customer.objects.visible_to(actor, VIEW).filter(pk__in=newest).count()
    share = max(seen, 1) / max(len(newest), 1)
    if len(_SHARES) > 5000:
        _SHARES.clear()
    _SHARES[key] = (share, now + SHARE_SECONDS)
    return share


def member_threshold(actor: Any, *, own_short: bool) -> int:
    """Index hits up to which a common query is tested by membership in its hits (-1:
    never). Building the set costs one index row per hit, the walk of the list about
    N / (hits x share) rows at a fraction of a LIKE test; the LIKE plan wins again for the
    commonest terms. A user's own short query reads only their hits: no share."""
    if not _members_here():
        return -1
    if own_short:
        return MEMBER_MATCHES
    share = max(scope_share(actor), MIN_SHARE)
    return int(min(MEMBER_MATCHES / math.sqrt(share), MAX_MEMBERS))


def _members_here() -> bool:
    return MEMBER_MATCHES >= 0 and connection.vendor in MEMBERS_VENDORS


def selective_matches(*, short: bool) -> int:
    """Index hits above which a query is common, for an all-scope user."""
    if short and _members_here():
        return min(COMMON_MATCHES, MEMBER_SELECTIVE)
    return COMMON_MATCHES


def common_threshold(actor: Any, *, short: bool = False) -> int:
    """Index hits above which the LIKE plan is cheaper, for this user.

    The index plan costs about one row per hit (h); the LIKE plan reads about
    page / (h/N · share) rows of the list. They cross near h = sqrt(page · N / share), so
    the threshold for an all-scope user (selective_matches, measured) grows with
    1 / sqrt(share) for users who see a part of the archive."""
    share = max(scope_share(actor), MIN_SHARE)
    return max(0, int(min(selective_matches(short=short) / math.sqrt(share), MAX_SELECTIVE)))


# A scope of at most this many customers (and at most SMALL_SHARE of the archive) is read
# by its ids: owner, co-owner and department lookups on their indexes.
SMALL_SCOPE = 3000
SMALL_SHARE = 0.01


def small_scope_ids(actor: Any) -> tuple[int, ...] | None:
    """The ids of every customer (deleted ones too) in the actor's view scope when that
    scope is a small part of the archive; None otherwise.

    A scope written as `owner OR EXISTS(co-owner) OR department IN …` cannot drive a query
    from an index, so a list of a small scope walks the archive's (updated_at) index until
    it has a page: 2,000 rows for a page of a 500-customer book in a million. The same set
    as ids (a union of three index lookups) lets the list start from them; the scope filter
    stays on the query all the same."""
    from guanxi.org.scopes import VIEW, resolve_scope

    if actor is None:
        return None
    scope = resolve_scope(actor, VIEW)
    if scope.everything or scope.nothing or scope_share(actor) > SMALL_SHARE:
        return None
    parts = [
        "SELECT id FROM customers_customer WHERE owner_id = %s",
        "SELECT customer_id FROM customers_customer_co_owners WHERE user_id = %s",
    ]
    params: list[Any] = [scope.user_id, scope.user_id]
    if scope.department_ids:
        marks = ", ".join(["%s"] * len(scope.department_ids))
        parts.append(f"SELECT id FROM customers_customer WHERE department_id IN ({marks})")
        params += sorted(scope.department_ids)
    with connection.cursor() as cursor:
        cursor.execute(f"{' UNION '.join(parts)} LIMIT {SMALL_SCOPE + 1}", params)
        ids = [row[0] for row in cursor.fetchall()]
    if len(ids) > SMALL_SCOPE:
        return None
    return tuple(sorted(ids))


def ids_q(ids: tuple[int, ...]) -> Q:
    """Customers among the ids (one query parameter, however many)."""
    if not ids:
        return Q(pk__in=[])
    sql, params = _ids_sql(ids)
    return Q(pk__in=RawSQL(sql, params))


def parse(
    text: str,
    *,
    actor: Any = None,
    common: bool | None = None,
    within: tuple[int, ...] | None = None,
) -> Query | None:
    """The query for a search text, with its plan for this user (`common` forces one, for
    tests). One bounded read of the index both decides the plan and, for a selective
    query, yields the ids the list needs. `within`: the ids of a small scope
    (small_scope_ids); the list starts from them and tests each with LIKE (the common
    plan's filter), which costs less than any index read of a common term."""
    text = clean(text)
    if not text:
        return None
    query = Query(text=text, variants=_variants(text), common=False)
    key = (connection.alias, text, getattr(actor, "pk", None))
    now = time.monotonic()
    if within is not None and common is None:
        _PLANS[key] = (False, now + PLAN_SECONDS, False, False)  # the list is small: count it
        return replace(query, common=True)
    viewer = own_scope_user(actor)
    if common is None:
        cached = _PLANS.get(key)
        if cached is not None and cached[1] > now and cached[0] and not cached[3]:
            return replace(query, common=True, members=cached[2], viewer=viewer)
    if common:
        return replace(query, common=True)
    if common is None and _member_ids_here():
        return _parse_by_ids(query, actor=actor, viewer=viewer, key=key, now=now)
    if common is False:
        limit = None
    elif viewer is not None and (query.short or connection.vendor in VIEWER_DOC_VENDORS):
        # only the user's own hits are read: the index plan costs one customer row per
        # hit and the LIKE plan reads N / hits rows of the list, whatever the user's share
        limit = max(0, selective_matches(short=query.short))
    else:
        limit = common_threshold(actor, short=query.short)
    own_short = viewer is not None and query.short
    members = False
    count_first = not own_short and not query.text.isascii()
    if viewer is not None and count_first and limit is not None and _members_here():
        # A user's own 3+ query of Chinese text: the trigram hits are counted once, by
        # rowid alone, up to the larger bound — reading them with their owner (a doc_owner
        # probe each) only pays when the query turns out selective. Not for digits and
        # letters (numbers, credit codes): their trigram lists are long, and reading them
        # twice costs more than the owner probes saved.
        bound = member_threshold(actor, own_short=False)
        found = hit_count(query, limit=max(limit, bound))
        ids = hit_ids(query, viewer=viewer) if found <= limit else None
        members = ids is None and found <= bound
    else:
        ids = hit_ids(query, limit=limit, viewer=viewer)
        if ids is None:
            # common: by membership in the hits while they are few enough to hold
            bound = member_threshold(actor, own_short=own_short)
            members = bound >= 0 and (
                hit_count(query, limit=bound, viewer=viewer if own_short else None) <= bound
            )
    _remember(key, (ids is None, now + PLAN_SECONDS, members, False))
    if ids is None:
        return replace(query, common=True, members=members, viewer=viewer)
    return replace(query, ids=ids)


def _remember(key: tuple[str, str, int | None], plan: tuple[bool, float, bool, bool]) -> None:
    if len(_PLANS) > 5000:
        _PLANS.clear()
    _PLANS[key] = plan


def _member_ids_here() -> bool:
    return _members_here() and connection.vendor in MEMBER_IDS_VENDORS


def _parse_by_ids(
    query: Query, *, actor: Any, viewer: int | None, key: tuple[str, str, int | None], now: float
) -> Query:
    """The plan on PostgreSQL: one bounded read of the hits (the user's own with `viewer`:
    viewer grams, viewer docs), then by their number

    - up to `probes` (MEMBER_SELECTIVE, grown by 1/sqrt(share) when every hit is read):
      the selective plan, a probe of the list's keys per hit (index-only, migration 0011);
    - up to `bound`: membership, the list's covering index walked in order and each entry
      tested against the hashed ids, about N / hits entries per page row, none of the rows
      read; a one- or two-character query reads up to member_threshold() grams (index-only,
      cheap), a longer one up to MEMBER_LONG_MATCHES trigram hits (a heap page each);
    - above: the LIKE plan (the term is common: the walk is short).

    A 3+ query is first estimated on a fixed sample of the docs (sampled_hits): a common
    term then goes to the LIKE plan without reading its hits.
    """
    own = viewer is not None
    probes = selective_matches(short=True) if own else common_threshold(actor, short=True)
    if query.short:
        bound = member_threshold(actor, own_short=own)
    else:
        share = max(scope_share(actor), MIN_SHARE)
        most = min(MEMBER_LONG_MATCHES, MEMBER_MATCHES)
        bound = int(min(most / math.sqrt(1.0 if own else share), MAX_SELECTIVE))
        # A user's own hits are estimated as their share of all the hits, with a margin:
        # a salesperson may hold more or fewer of a term's customers than of the archive,
        # and their LIKE walk reads N / own hits rows per page row.
        estimate, margin = sampled_hits(query), 1
        if own:
            estimate, margin = int(estimate * share), 2
        if estimate > margin * max(bound, probes):
            _remember(key, (True, now + PLAN_SECONDS, False, False))
            return replace(query, common=True, viewer=viewer)
    ids = hit_ids(query, limit=max(bound, probes), viewer=viewer)
    if ids is None:
        _remember(key, (True, now + PLAN_SECONDS, False, False))
        return replace(query, common=True, viewer=viewer)
    if len(ids) > probes:
        _remember(key, (True, now + PLAN_SECONDS, True, True))
        return replace(query, common=True, members=True, ids=ids, viewer=viewer)
    _remember(key, (False, now + PLAN_SECONDS, False, False))
    return replace(query, ids=ids)


def sampled_hits(query: Query) -> int:
    """The number of docs a 3+ query matches (PostgreSQL), estimated on SAMPLE_PERCENT of
    the doc table's pages — the same pages every time (REPEATABLE), so they stay in the
    buffers: about 6,800 docs and 4 ms at a million customers. Reading a common term's
    hits to learn that it is common cost 15-30 ms for 5,000 (a heap page per hit)."""
    where = " OR ".join([f"body {_like(query)} %s"] * len(query.variants))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM customers_search_doc "
            f"TABLESAMPLE SYSTEM ({float(SAMPLE_PERCENT)}) REPEATABLE (0) WHERE {where}",
            [_like_pattern(v) for v in query.variants],
        )
        found = int(cursor.fetchone()[0])
    return int(found * 100 / SAMPLE_PERCENT)


def _text(*fields: str) -> Concat | F:
    """The fields as the index sees them: one text, separated by a newline (queries never
    contain one, so no match can straddle two fields)."""
    if len(fields) == 1:
        return F(fields[0])
    parts: list[object] = []
    for field in fields:
        parts += [F(field), Value("\n")]
    return Concat(*parts[:-1], output_field=TextField())


def is_common(text: str, *, actor: Any = None) -> bool:
    """Whether a search text takes the common (LIKE) plan for this user — the choice
    parse() just made, when there is one, without reading the index again."""
    cleaned = clean(text)
    if not cleaned:
        return False
    cached = _PLANS.get((connection.alias, cleaned, getattr(actor, "pk", None)))
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    query = parse(cleaned, actor=actor)
    return bool(query and query.common)


def _like_q(query: Query) -> Q:
    """The same rows as the index, by LIKE on the fields (icontains: case-insensitive
    ASCII, like the trigram index): one LIKE per customer and per live contact."""
    from guanxi.customers.models import Contact

    fields = ("name",) if query.short else ("name", "credit_code", "phone")
    contact_fields = ("name",) if query.short else ("name", "mobile", "phone")
    own, theirs = Q(), Q()
    contains = Contains if _caseless(query) else IContains
    for value in query.variants:
        own |= Q(contains(_text(*fields), value))
        theirs |= Q(contains(_text(*contact_fields), value))
    contacts = Contact.objects.filter(customer_id=OuterRef("pk"), deleted_at__isnull=True)
    # A second reference to the outer row keeps PostgreSQL from turning this into a hashed
    # subplan (reading every contact to build the hash) instead of probing row by row.
    contacts = contacts.filter(IsNull(OuterRef("deleted_at"), True))
    return own | Q(Exists(contacts.filter(theirs)))


def _ids_sql(ids: tuple[int, ...]) -> tuple[str, list[object]]:
    """A subquery yielding the ids, passed as one parameter (a JSON or array value)."""
    if connection.vendor == "sqlite":
        return "SELECT value FROM json_each(%s)", [json.dumps(list(ids))]
    sql, params = _ids_array(ids)
    return f"SELECT unnest({sql})", params


def _ids_array(ids: tuple[int, ...]) -> tuple[str, list[object]]:
    """A bigint[] parameter, sent as its text: psycopg adapts thousands of ints one by one
    (measured 7-20 ms for 9,400 ids, the text 1-3 ms)."""
    return "%s::bigint[]", ["{" + ",".join(str(int(pk)) for pk in ids) + "}"]


# The list orders (selectors.SORTS) the covering index of migration 0011 reads, forwards
# or backwards, without the rows.
WALK_ORDERS = frozenset({("-updated_at", "-id"), ("updated_at", "id")})


class _AmongIds(Func):
    """PostgreSQL's membership test: the customer is among the ids (one array parameter).

    In the list's default order (WALK_ORDERS) it is written `(id IN (ids)) IS TRUE`:
    neither a join nor an index condition, so the list is read in its order from its
    covering index (migration 0011) and each entry is tested against the ids, hashed once
    (a hashed subplan: an unnest's size is known), without reading the row: about N / hits
    entries per page row. (`id = ANY(array)` is hashed too, but costed per element: a plan
    cost in the millions switched JIT compilation on, 4-20 ms a query.) In any other order
    (or a count) it is the selective plan's `id IN (ids)`, a probe per id, up to
    COMMON_MATCHES ids, and above the LIKE plan's test (`like`, the same rows): the other
    sorts have no covering index to walk, and one has no index at all."""

    output_field = BooleanField()

    def __init__(self, ids: tuple[int, ...], like: Q) -> None:
        super().__init__(F("pk"), like)
        self.ids = ids

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        pk, like = self.source_expressions
        order = tuple(str(field) for field in compiler.query.order_by)
        if order not in WALK_ORDERS and len(self.ids) > COMMON_MATCHES:
            sql, params = compiler.compile(like)
            return f"({sql})", list(params)
        column, params = compiler.compile(pk)
        ids, ids_params = _ids_sql(self.ids)
        test = f"{column} IN ({ids})"
        if order in WALK_ORDERS:
            test = f"({test}) IS TRUE"
        return f"({test})", [*params, *ids_params]


def _members_q(query: Query) -> Q:
    """The rows among the index hits, tested one by one as the list is read in its order:
    `+id` keeps SQLite from starting at the hits (a probe and a sort per hit) instead of
    walking the list's index, where the test needs only the id the index entry holds."""
    if connection.vendor in MEMBER_IDS_VENDORS:
        return Q(_AmongIds(query.ids, _like_q(query)))
    viewer = query.viewer if query.short else None
    sql, params = hits_sql(query, viewer=viewer)
    pk = Func(F("pk"), template="(+%(expressions)s)", output_field=IntegerField())
    return Q(In(pk, RawSQL(f"SELECT customer_id FROM ({sql}) AS hits", params)))


def search_q(query: Query) -> Q:
    """A filter on Customer for the query, by the plan the query chose."""
    if query.common:
        return _members_q(query) if query.members else _like_q(query)
    return ids_q(query.ids)
