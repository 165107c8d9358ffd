"""Finding duplicate customers: the candidates for one name (filing, import) and the
archive-wide scan (review page, benchmark). MISSION §1; see docs/adr (dedup blocking).

Keys and scores
    Every customer stores its comparison key, Customer.name_normalised (normalise.py).
    Two keys score 0–100 with normalise.similarity (whole-key and trade-name ratio).

Blocking (what is compared with what)
    Comparing every pair of 1,000,000 names is 5 × 10¹¹ comparisons; instead names are
    compared only inside a *block*: the customers whose key starts with the same
    BLOCK_PREFIX (2) characters — in practice the first two characters of the trade name
    (华建建材, 华建物流 and 华建东建材 share the block 华建). A block is a range of the
    indexed name_normalised column (key >= "华建" and key < "华廻"), so

    - one check (filing, import) reads one index range of at most MAX_BLOCK + 1 rows
      (plus an exact-key lookup when even the narrowest block is cut short), about a
      millisecond;
    - the full scan reads the column once in key order (index order) and groups
      consecutive rows, holding one block in memory at a time.

    A block larger than MAX_BLOCK (a very common start such as 中国) is split by one more
    character of the key, repeatedly, so the work per customer stays bounded
    (≤ MAX_BLOCK comparisons) whatever the distribution of names. The single check narrows
    its prefix the same way.

    What blocking misses, by design: two spellings whose keys differ within the first two
    characters (a typo in the trade name's first character) or, in a split block, within
    the characters used for the split. The normaliser removes the usual causes (place
    prefixes, brackets, full-width forms, traditional characters, legal forms) before
    the key is cut.

    Range queries compare code points: SQLite's default BINARY collation does, and
    our PostgreSQL databases are created with LC_COLLATE C.UTF-8 (core.backends).

Scores and reasons
    same_key      the keys are equal (score 100)
    similar_name  score ≥ the threshold
    same_phone    the customers' own phone numbers agree (digits, at least 7); a pair
                  with a lower name score (≥ 2 × threshold − 100) is then listed too.

Thresholds
    WARN_SCORE (90) for the warning at filing and import, REVIEW_SCORE (85) as the
    review page's default. Distinct trade names sharing a brand word (华建建材 / 华建物流,
    50) or differing in their third character (华建建筑工程 / 华建东建筑工程, 84) stay below
    both.
"""

from __future__ import annotations

import contextlib
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from rapidfuzz import fuzz, process

from guanxi.customers.dedup.normalise import weigh_head
from guanxi.customers.models import Customer
from guanxi.org.scopes import VIEW

BLOCK_PREFIX = 2
MAX_BLOCK = 1000
WARN_SCORE = 90
REVIEW_SCORE = 85
CANDIDATE_LIMIT = 10
MIN_PHONE_DIGITS = 7

SAME_KEY = "same_key"
SIMILAR_NAME = "similar_name"
SAME_PHONE = "same_phone"

_NOT_DIGITS = re.compile(r"\D+")


def prefilter_cutoff(threshold: float) -> float:
    """Whole-key ratio below which no pair can reach `threshold` (see weigh_head)."""
    return max(0.0, 2 * threshold - 100)


def block_range(prefix: str) -> dict[str, str]:
    """ORM filter for the keys starting with `prefix`, as an index range."""
    last = ord(prefix[-1])
    if last >= 0x10FFFF:
        return {"name_normalised__gte": prefix}
    return {
        "name_normalised__gte": prefix,
        "name_normalised__lt": prefix[:-1] + chr(last + 1),
    }


def phone_digits(value: str) -> str:
    digits = _NOT_DIGITS.sub("", value or "")
    return digits if len(digits) >= MIN_PHONE_DIGITS else ""


# --- one name: filing and import -----------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    id: int
    name: str
    score: int
    same_key: bool

    def as_detail(self) -> dict[str, Any]:
        """What the possible_duplicate error reveals: id, name and score, nothing else
        (the candidate may lie outside the user's data scope)."""
        return {"id": self.id, "name": self.name, "score": self.score}


_ROW = ("id", "name", "name_normalised", "credit_code")


def _block_rows(key: str, using: str | None = None) -> tuple[list[tuple[Any, ...]], bool]:
    """Live customers in the key's block, narrowed while the block exceeds MAX_BLOCK;
    and whether even the narrowest block was cut at MAX_BLOCK rows.

    Deleted customers are dropped here rather than in SQL: with `deleted_at IS NULL` in
    the query SQLite picks the deleted_at index and reads the whole table (13 ms at
    20,000 rows instead of 0.4 ms)."""
    prefix = key[:BLOCK_PREFIX]
    while True:
        rows = list(
            Customer.objects.using(using)
            .filter(**block_range(prefix))
            .order_by("name_normalised", "id")
            .values_list(*_ROW, "deleted_at")[: MAX_BLOCK + 1]
        )
        cut = len(rows) > MAX_BLOCK
        if not cut or len(prefix) >= len(key):
            return [row[:-1] for row in rows[:MAX_BLOCK] if row[-1] is None], cut
        prefix = key[: len(prefix) + 1]


def find_candidates(
    key: str,
    *,
    credit_code: str = "",
    exclude_ids: Iterable[int] = (),
    threshold: float = WARN_SCORE,
    limit: int = CANDIDATE_LIMIT,
    using: str | None = None,
) -> list[Candidate]:
    """Live customers whose key equals `key` or scores ≥ threshold, best first.

    Whatever the data scope: duplicate prevention must see the whole archive (callers show
    only Candidate.as_detail to the user). A customer whose credit code differs from a
    given `credit_code` is a different company and is left out; an equal code is refused
    earlier (DuplicateCreditCode)."""
    if not key:
        return []
    block, cut = _block_rows(key, using)
    rows = {row[0]: row for row in block}
    if cut:  # the block holds every exact match unless it was cut short
        exact = Customer.objects.using(using).alive().filter(name_normalised=key).order_by("id")
        rows.update({row[0]: row for row in exact.values_list(*_ROW)[:limit]})
    return _scored(key, credit_code, rows.values(), set(exclude_ids), threshold, limit)


def _scored(
    key: str,
    credit_code: str,
    rows: Iterable[tuple[Any, ...]],
    excluded: set[int],
    threshold: float,
    limit: int,
) -> list[Candidate]:
    rows = [
        row
        for row in rows
        if row[0] not in excluded and not (credit_code and row[3] and row[3] != credit_code)
    ]
    candidates = []
    for other, whole, index in process.extract(
        key,
        [row[2] for row in rows],
        scorer=fuzz.ratio,
        score_cutoff=prefilter_cutoff(threshold),
        limit=None,
    ):
        score = 100.0 if other == key else weigh_head(whole, key, other)
        if score >= threshold:
            candidates.append(Candidate(rows[index][0], rows[index][1], int(score), other == key))
    candidates.sort(key=lambda c: (-c.score, c.id))
    return candidates[:limit]


class BlockCache:
    """The blocks find_candidates_many has read, kept for its next calls within one
    transaction — an import's chunks, which otherwise read the same blocks again for
    every chunk (at a million customers some 6,000 blocks of ~170 keys each, most of them
    touched by every 2,000-row chunk).

    Only for a transaction in which the archive changes by the caller's own writes
    alone (the import's all-or-nothing passes; not one that commits chunk by chunk while
    others write). On SQLite that holds once the transaction has written (one writer at
    a time); on PostgreSQL others may still file customers while a long import runs, and
    such a customer is compared only when its block is first read after it was committed
    — as with any check made before the write it guards (the credit code's unique index
    still refuses a clash). `track_writes`: the caller reports each customer it files
    (add), which joins the cached blocks its key falls in; without, the cache stays the
    archive as it was (a check pass whose chunks are rolled back). A caller that changes
    an existing customer's key clears it. A block grown past MAX_BLOCK is dropped, so that
    it is read (cut and narrowed) as before; blocks are cached up to MAX_ROWS keys in all
    (about 150 MB of Python objects at the cap: the whole name column of a
    million-customer archive, which a 100,000-row import touches nearly all of).

    For archive hits read elsewhere (archive_hits_many, in the import's second process,
    from what was committed) the cache also keeps the customers filed through it
    (`filed`, by BLOCK_PREFIX block; with `track_writes`), which such a read cannot see;
    `keep_blocks=False` keeps those alone (a transaction that commits chunk by chunk).
    After clear() (a key changed) hits read elsewhere are stale: `ahead_current`."""

    MAX_ROWS = 1_500_000

    def __init__(self, *, track_writes: bool, keep_blocks: bool = True) -> None:
        self.track_writes = track_writes
        self.keep_blocks = keep_blocks
        self.ahead_current = True
        self._blocks: dict[str, list[tuple[int, str]]] = {}
        self._rows = 0
        self._filed: dict[str, list[tuple[int, str, str, str]]] = defaultdict(list)

    def get(self, prefix: str) -> list[tuple[int, str]] | None:
        return self._blocks.get(prefix)

    def put(self, prefix: str, rows: list[tuple[int, str]]) -> None:
        if not self.keep_blocks:
            return
        if len(rows) <= MAX_BLOCK and self._rows + len(rows) <= self.MAX_ROWS:
            self._blocks[prefix] = rows
            self._rows += len(rows)

    def filed(self, prefix: str) -> list[tuple[int, str, str, str]]:
        """(id, name, key, credit code) of the customers filed through add() whose key
        starts with `prefix` (BLOCK_PREFIX characters), as score_among takes them."""
        return self._filed.get(prefix, [])

    def add(self, pk: int, key: str, *, name: str = "", credit_code: str = "") -> None:
        """A customer the caller has just filed, with its key (name and credit code:
        for filed())."""
        if not self.track_writes or not key:
            return
        self._filed[key[:BLOCK_PREFIX]].append((pk, name, key, credit_code))
        # every prefix: a one-character key is its own (one-character) block's prefix
        for length in range(1, len(key) + 1):
            rows = self._blocks.get(key[:length])
            if rows is None:
                continue
            rows.append((pk, key))
            self._rows += 1
            if len(rows) > MAX_BLOCK:
                del self._blocks[key[:length]]
                self._rows -= len(rows)

    def clear(self) -> None:
        self._blocks.clear()
        self._rows = 0
        self.ahead_current = False


def find_candidates_many(
    items: Sequence[tuple[str, str]],
    *,
    threshold: float = WARN_SCORE,
    limit: int = CANDIDATE_LIMIT,
    blocks: BlockCache | None = None,
) -> list[list[Candidate]]:
    """find_candidates for many (key, credit_code) items at once, e.g. the rows of an
    import: one read per distinct block instead of one per item (a 100,000-row file
    touches at most a few thousand blocks). A block over MAX_BLOCK is narrowed by one
    more key character for the items in it, as find_candidates narrows it, and each
    narrower block is again read once for all its items. Same results as one call per
    item.

    The blocks are read from the key's index alone (id and key: no table lookups, a
    fraction of the cost per row); the few records whose key scores high enough are then
    read in full (_resolve), and only there are deleted records and those with another
    credit code left out — which gives the same candidates as leaving them out first,
    since each record's score depends on its key alone. `blocks`: blocks read by earlier
    calls in the same transaction, used and filled (BlockCache)."""
    hits, direct = _archive_hits(items, threshold, limit, blocks, None)
    results = [direct.get(index, []) for index in range(len(items))]
    _resolve(items, _passing(items, hits, threshold), results, limit)
    return results


# An item's archive hits, read and scored ahead (archive_hits_many): (customer id, key,
# score) of the records whose key reaches the threshold, and the candidates themselves
# where find_candidates was asked directly (a key no longer than a cut block's prefix).
AheadHits = tuple[tuple[tuple[int, str, float], ...], tuple[Candidate, ...] | None]


def archive_hits_many(
    items: Sequence[tuple[str, str]],
    *,
    threshold: float = WARN_SCORE,
    limit: int = CANDIDATE_LIMIT,
    blocks: BlockCache | None = None,
    using: str | None = None,
) -> list[AheadHits]:
    """The first half of find_candidates_many — the blocks read (through the connection
    `using`) and scored — for resolve_ahead to finish elsewhere: the import reads and
    scores in its second process, which has a connection of its own (core.ahead.reader),
    and the importing process reads only the few records that reach the threshold."""
    hits, direct = _archive_hits(items, threshold, limit, blocks, using)
    passing: list[list[tuple[int, str, float]]] = [[] for _item in items]
    for index, pk, other, score in _passing(items, hits, threshold):
        passing[index].append((pk, other, score))
    return [
        (tuple(found), tuple(direct[index]) if index in direct else None)
        for index, found in enumerate(passing)
    ]


def resolve_ahead(
    items: Sequence[tuple[str, str]], ahead: Sequence[AheadHits], *, limit: int = CANDIDATE_LIMIT
) -> list[list[Candidate]]:
    """find_candidates_many's candidates from hits archive_hits_many worked out for the
    same items (read here: live records only, none with another credit code)."""
    results = [list(direct) if direct is not None else [] for _hits, direct in ahead]
    scored = [
        (index, pk, other, score)
        for index, (hits, _direct) in enumerate(ahead)
        for pk, other, score in hits
    ]
    _resolve(items, scored, results, limit)
    return results


def _archive_hits(
    items: Sequence[tuple[str, str]],
    threshold: float,
    limit: int,
    blocks: BlockCache | None,
    using: str | None,
) -> tuple[list[_Hit], dict[int, list[Candidate]]]:
    """The prefilter's hits of the items in their blocks; and the candidates of items
    find_candidates was asked for directly."""
    by_prefix: dict[str, list[int]] = defaultdict(list)
    for index, (key, _code) in enumerate(items):
        if key:
            by_prefix[key[:BLOCK_PREFIX]].append(index)
    hits: list[_Hit] = []
    direct: dict[int, list[Candidate]] = {}
    todo = list(by_prefix.items())
    with _without_jit(using) if len(todo) > FEW_BLOCKS else contextlib.nullcontext():
        while todo:
            round_, todo = todo[:BLOCKS_PER_QUERY], todo[BLOCKS_PER_QUERY:]
            rows_of = _cached_or_read([prefix for prefix, _indexes in round_], blocks, using)
            for (prefix, indexes), rows in zip(round_, rows_of, strict=True):
                todo.extend(_score_block(items, prefix, indexes, rows, direct, hits,
                                         threshold, limit, using))  # fmt: skip
    return hits, direct


def _cached_or_read(
    prefixes: list[str], cache: BlockCache | None, using: str | None
) -> list[list[tuple[int, str]]]:
    """The blocks of the prefixes: from the cache where it has them, the rest read in one
    round trip (and cached)."""
    if cache is None:
        return _read_blocks(prefixes, using)
    cached = {prefix: rows for prefix in prefixes if (rows := cache.get(prefix)) is not None}
    missing = [prefix for prefix in prefixes if prefix not in cached]
    if missing:
        for prefix, rows in zip(missing, _read_blocks(missing, using), strict=True):
            cached[prefix] = rows
            cache.put(prefix, rows)
    return [cached[prefix] for prefix in prefixes]


def _connection(using: str | None) -> Any:
    return connections[using or DEFAULT_DB_ALIAS]


@contextlib.contextmanager
def _without_jit(using: str | None) -> Iterator[None]:
    """PostgreSQL's JIT off while the blocks are read, restored after (a SET is also
    undone with the transaction it was made in). The planner's cost estimate of the block
    query guesses each block's rows without statistics, lands far above the real cost and
    past jit_above_cost: compiling would take some 15 ms for a 5 ms query."""
    db = _connection(using)
    if db.vendor != "postgresql":
        yield
        return
    with db.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit'), set_config('jit', 'off', false)")
        jit = cursor.fetchone()[0]
    try:
        yield
    finally:
        with contextlib.suppress(DatabaseError), db.cursor() as cursor:
            cursor.execute("SELECT set_config('jit', %s, false)", [jit])


BLOCKS_PER_QUERY = 100
DETAILS_PER_QUERY = 500
# Up to this many blocks (e.g. a single filing's or a test's), JIT is left as it is: the
# saving would not pay for the two statements that switch it off and on.
FEW_BLOCKS = 20
# (item index, customer id, customer key, whole-key ratio)
_Hit = tuple[int, int, str, float]


def _read_blocks(prefixes: list[str], using: str | None = None) -> list[list[tuple[int, str]]]:
    """(id, key) of the first MAX_BLOCK + 1 records of each block in key order, deleted
    ones included as in _block_rows' query (the rows come in no particular order): that
    query for many blocks in one round trip, one index range scan per block, served by
    an index alone (SQLite's key index carries the rowid, the id; PostgreSQL has the
    (name_normalised, id) index of migration 0012).

    SQLite joins the scans with UNION ALL. PostgreSQL spends longer planning a UNION ALL
    of 100 subqueries (some 30 ms) than running it, so there the scan is written once and
    run for each block's bounds (VALUES … CROSS JOIN LATERAL); a prefix ending in the last
    code point has no upper bound and takes the UNION ALL."""
    db = _connection(using)
    found: list[list[tuple[int, str]]] = [[] for _prefix in prefixes]
    bounds = [block_range(prefix) for prefix in prefixes]
    lateral = [
        number
        for number, bound in enumerate(bounds)
        if db.vendor == "postgresql" and "name_normalised__lt" in bound
    ]
    union = sorted(set(range(len(prefixes))) - set(lateral))
    quote = db.ops.quote_name
    table = quote(Customer._meta.db_table)
    key = quote(Customer._meta.get_field("name_normalised").column)
    with db.cursor() as cursor:
        if lateral:
            values, params = [], []
            for number in lateral:
                values.append("(%s, %s, %s)")
                params += [number, bounds[number]["name_normalised__gte"],
                           bounds[number]["name_normalised__lt"]]  # fmt: skip
            cursor.execute(
                f"SELECT b.n, c.id, c.{key} FROM (VALUES {', '.join(values)}) "
                f"AS b (n, low, high) CROSS JOIN LATERAL (SELECT id, {key} FROM {table} "
                f"WHERE {key} >= b.low AND {key} < b.high "
                f"ORDER BY {key}, id LIMIT {MAX_BLOCK + 1}) AS c",
                params,
            )
            for number, pk, name_key in cursor.fetchall():
                found[number].append((pk, name_key))
        if union:
            parts, params = [], []
            for number in union:
                where = f"{key} >= %s"
                params.append(bounds[number]["name_normalised__gte"])
                if "name_normalised__lt" in bounds[number]:
                    where += f" AND {key} < %s"
                    params.append(bounds[number]["name_normalised__lt"])
                parts.append(
                    f"SELECT * FROM (SELECT {number} AS block, id, {key} FROM {table} "
                    f"WHERE {where} ORDER BY {key}, id LIMIT {MAX_BLOCK + 1}) AS b{number}"
                )
            cursor.execute(" UNION ALL ".join(parts), params)
            for number, pk, name_key in cursor.fetchall():
                found[number].append((pk, name_key))
    return found


def _score_block(
    items: Sequence[tuple[str, str]],
    prefix: str,
    indexes: list[int],
    rows: list[tuple[int, str]],
    direct: dict[int, list[Candidate]],
    hits: list[_Hit],
    threshold: float,
    limit: int,
    using: str | None,
) -> list[tuple[str, list[int]]]:
    """Score the items of one block read by _read_blocks: the records whose key passes
    the prefilter become hits; a block over MAX_BLOCK is not scored but returned
    narrowed, for another read."""
    if len(rows) > MAX_BLOCK:  # a big block: narrow it for each item's next character
        narrower: dict[str, list[int]] = defaultdict(list)
        for index in indexes:
            key, code = items[index]
            if len(key) <= len(prefix):  # cannot narrow: find_candidates' own way
                direct[index] = find_candidates(
                    key, credit_code=code, threshold=threshold, limit=limit, using=using
                )
            else:
                narrower[key[: len(prefix) + 1]].append(index)
        return list(narrower.items())
    keys = [row[1] for row in rows]
    cutoff = prefilter_cutoff(threshold)
    for index in indexes:
        for other, whole, position in process.extract(
            items[index][0], keys, scorer=fuzz.ratio, score_cutoff=cutoff, limit=None
        ):
            hits.append((index, rows[position][0], other, whole))
    return []


def _passing(
    items: Sequence[tuple[str, str]], hits: list[_Hit], threshold: float
) -> list[tuple[int, int, str, float]]:
    """The hits whose score reaches the threshold, as (item index, id, key, score); a
    hit's score depends on the keys alone."""
    scored: list[tuple[int, int, str, float]] = []
    for index, pk, other, whole in hits:
        key = items[index][0]
        score = 100.0 if other == key else weigh_head(whole, key, other)
        if score >= threshold:
            scored.append((index, pk, other, score))
    return scored


def _resolve(
    items: Sequence[tuple[str, str]],
    scored: list[tuple[int, int, str, float]],
    results: list[list[Candidate]],
    limit: int,
) -> None:
    """The candidates of the hits that reach the threshold (_passing), as _scored makes
    them: live records only, none with another credit code than the item's, best first.
    Only these records are read."""
    ids = sorted({hit[1] for hit in scored})
    details: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), DETAILS_PER_QUERY):
        rows = Customer.objects.filter(pk__in=ids[start : start + DETAILS_PER_QUERY])
        for pk, name, credit_code, deleted_at in rows.order_by().values_list(
            "id", "name", "credit_code", "deleted_at"
        ):
            if deleted_at is None:
                details[pk] = (name, credit_code)
    found: dict[int, list[Candidate]] = defaultdict(list)
    for index, pk, other, score in scored:
        if pk not in details:
            continue
        key, code = items[index]
        name, other_code = details[pk]
        if code and other_code and other_code != code:
            continue
        found[index].append(Candidate(pk, name, int(score), other == key))
    for index, candidates in found.items():
        candidates.sort(key=lambda c: (-c.score, c.id))
        results[index] = candidates[:limit]


def score_among(
    key: str,
    rows: Iterable[tuple[Any, ...]],
    *,
    credit_code: str = "",
    threshold: float = WARN_SCORE,
    limit: int = CANDIDATE_LIMIT,
) -> list[Candidate]:
    """find_candidates' scoring over given (id, name, key, credit_code) rows instead of a
    block read from the archive: for records of a batch that are not written yet."""
    return _scored(key, credit_code, rows, set(), threshold, limit)


def duplicate_candidates(*, key: str, credit_code: str = "") -> list[dict[str, Any]]:
    """The `candidates` detail of PossibleDuplicate for a customer about to be filed."""
    return [c.as_detail() for c in find_candidates(key, credit_code=credit_code)]


# --- the whole archive ---------------------------------------------------------------------
@dataclass(frozen=True)
class DuplicatePair:
    low_id: int
    high_id: int
    score: float
    reasons: tuple[str, ...]
    block: str


@dataclass
class Block:
    """One top-level block of the scan: its prefix, how many customers it held and the
    candidate pairs found in it (in a stable order, so pages can resume inside it)."""

    prefix: str
    size: int
    pairs: list[DuplicatePair] = field(default_factory=list)


_Row = tuple[int, str, str]  # id, key, phone digits


def _pairs_in(
    rows: list[_Row], prefix: str, threshold: float, dismissed: set[tuple[int, int]]
) -> Iterator[DuplicatePair]:
    """Compare every pair of a (sub-)block; rapidfuzz does the whole-key ratios in bulk."""
    keys = [row[1] for row in rows]
    cutoff = prefilter_cutoff(threshold)
    for i in range(len(rows) - 1):
        key, (pk, _key, phone) = keys[i], rows[i]
        found = process.extract(
            key, keys[i + 1 :], scorer=fuzz.ratio, score_cutoff=cutoff, limit=None
        )
        for other, whole, offset in found:  # best first, then by position: a stable order
            other_pk, _other_key, other_phone = rows[i + 1 + offset]
            same_phone = bool(phone) and phone == other_phone
            if other == key:
                score, reasons = 100.0, (SAME_KEY,)
            else:
                score = weigh_head(whole, key, other)
                if score >= threshold:
                    reasons = (SIMILAR_NAME,)
                elif same_phone:
                    reasons = ()
                else:
                    continue
            if same_phone:
                reasons = (*reasons, SAME_PHONE)
            low, high = (pk, other_pk) if pk < other_pk else (other_pk, pk)
            if (low, high) not in dismissed:
                yield DuplicatePair(low, high, round(score, 1), reasons, prefix)


def _block_pairs(
    rows: list[_Row], prefix: str, depth: int, threshold: float, dismissed: set[tuple[int, int]]
) -> Iterator[DuplicatePair]:
    """Pairs of a block, split by one more key character while it exceeds MAX_BLOCK."""
    if len(rows) <= MAX_BLOCK or all(len(row[1]) <= depth for row in rows):
        yield from _pairs_in(rows, prefix, threshold, dismissed)
        return
    for _sub, group in groupby(rows, key=lambda row: row[1][: depth + 1]):
        yield from _block_pairs(list(group), prefix, depth + 1, threshold, dismissed)


def _scan_rows(actor: Any, start: str) -> Iterator[_Row]:
    """Live customers (of the actor's scope) in key order, read along the key's index.
    (Deleted ones are skipped here, not in SQL: see _block_rows.)"""
    customers = Customer.objects.all()
    if actor is not None:
        customers = Customer.objects.visible_to(actor, VIEW)
    customers = customers.exclude(name_normalised="")
    if start:
        customers = customers.filter(name_normalised__gte=start)
    rows = customers.order_by("name_normalised", "id").values_list(
        "id", "name_normalised", "phone", "deleted_at"
    )
    for pk, key, phone, deleted_at in rows.iterator(chunk_size=5000):
        if deleted_at is None:
            yield pk, key, phone_digits(phone)


def dismissed_pairs() -> set[tuple[int, int]]:
    from guanxi.customers.dedup.models import DuplicateDismissal

    return set(DuplicateDismissal.objects.values_list("customer_low_id", "customer_high_id"))


def scan_blocks(
    *,
    actor: Any = None,
    threshold: float = REVIEW_SCORE,
    start: str = "",
    dismissed: set[tuple[int, int]] | None = None,
) -> Iterator[Block]:
    """The scan, block by block in key order, from the block `start` on.

    `actor` None scans the whole archive (benchmarks, commands); otherwise only customers
    the actor may see take part, so both customers of every pair are visible to them.
    Pairs a user dismissed (DuplicateDismissal) are left out."""
    if dismissed is None:
        dismissed = dismissed_pairs()
    for prefix, group in groupby(_scan_rows(actor, start), key=lambda row: row[1][:BLOCK_PREFIX]):
        rows = list(group)
        pairs = list(_block_pairs(rows, prefix, BLOCK_PREFIX, threshold, dismissed))
        yield Block(prefix, len(rows), pairs)


def duplicate_scan(
    *, actor: Any = None, threshold: float = REVIEW_SCORE
) -> Iterator[DuplicatePair]:
    """Every candidate pair of the archive (or of the actor's scope), block by block."""
    for block in scan_blocks(actor=actor, threshold=threshold):
        yield from block.pairs
