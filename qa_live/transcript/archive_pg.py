"""How PostgreSQL reads an archive search: its count and a page of its hits in key order.

The archive's order is its documents' key (archive_index.archive_key), and a search shows a
count exact up to search.COUNT_CAP and pages of at most that many hits. A GIN index returns
its hits in no useful order, and PostgreSQL reads a table row for each hit it returns (to see
whether the row is visible and for its key): a word in an eighth of a million questions (税)
is 126,370 rows, about 415 ms, if every hit is read to sort them, where the count and any page
need only the first COUNT_CAP + 1 in key order.

The first pages (count(), then page()): the count takes the first COUNT_CAP + 1 hits the index
gives, in the table's order, and a page either walks the key index from the start, testing each
row (for a common word it stops after a few thousand rows), or takes every hit of a rarer word.

Deeper pages (first_hits()) read the hits of one range of keys at a time, from the first key
up: each range is one bitmap of the GIN index's hits ANDed with the key index's range, so only
the hits inside it are read, and the ranges stop once COUNT_CAP + 1 hits are in hand. The count
and the page come out of the same reads: the last page costs what the count costs. The first
range is sized from an upper bound of the hits (the planner's estimate for each token of the
query: a phrase has no more hits than its rarest pair) and the key histogram ANALYZE keeps;
both only decide how many ranges are read, never what is found. A word with few hits is read
in one range.
"""

from __future__ import annotations

import bisect
import json
import math
from typing import Any

from sqlalchemy import text

from qa_live.extensions import db
from qa_live.transcript import search

#: Read every hit in one go when there can be at most this many times COUNT_CAP + 1.
ONE_RANGE_FACTOR = 1.5
#: The first range holds this many times the keys the upper bound says are needed (a phrase's
#: bound, its rarest pair, is above its hits already; the documents read in excess are each
#: re-checked); each further range this many times what the hits so far say is still needed.
MARGIN = 1.15
PHRASE_MARGIN = 1.0
FOLLOW_MARGIN = 1.1
#: Pages ending within this many hits are read by count() and page(); deeper ones by
#: first_hits() (walking the key index to hit 100 of a word in 1 % of the archive tests about
#: 10,000 rows, as many as the count reads).
SHALLOW = 100
#: Pages ending within this many hits have their own count (count()), and only the hits up to
#: the page are read in key order; deeper ones take the count from the same reads. (A page of
#: a common phrase re-checks each hit read: two reads of ~10,000 would cost twice one.)
COUNT_APART = 5_000
#: At most this many tokens' estimates are asked for (each is one EXPLAIN).
ESTIMATED_TOKENS = 6

_RANGE = (
    "WITH hits AS MATERIALIZED (SELECT doc_key FROM search_archive_grams "
    "WHERE grams @@ to_tsquery('simple', :m) AND doc_key >= :low AND doc_key <= :high) "
    "SELECT (SELECT count(*) FROM hits), "
    "ARRAY(SELECT doc_key FROM hits ORDER BY doc_key OFFSET :skip LIMIT :take)")
# A phrase: PostgreSQL would re-check each candidate the GIN index gives (positions: the
# document read whole) before testing the key range, for every candidate of the archive. So
# the candidates of the range are found first (OFFSET 0 keeps the planner from merging the
# two) and only those are checked for the phrase.
_PHRASE_RANGE = (
    "WITH hits AS MATERIALIZED (SELECT doc_key FROM (SELECT doc_key, grams "
    "FROM search_archive_grams WHERE grams @@ to_tsquery('simple', :loose) "
    "AND doc_key >= :low AND doc_key <= :high OFFSET 0) AS candidates "
    "WHERE ts_match_vq(grams, to_tsquery('simple', :m))) "
    "SELECT (SELECT count(*) FROM hits), "
    "ARRAY(SELECT doc_key FROM hits ORDER BY doc_key OFFSET :skip LIMIT :take)")


def first_hits(match: str, tokens: list[str], bounds: tuple[int, int], offset: int,
               limit: int, need: int | None = None) -> tuple[int, list[int]]:
    """How many documents match ``match`` inside the key ``bounds``, exact up to ``need``
    (default search.COUNT_CAP + 1, meaning more than the cap), and the keys of the ``limit`` of
    them after the first ``offset`` in key order (offset + limit ≤ need).

    ``tokens`` are the query's own tokens (without the filters' tags), whose estimates bound
    the hits.
    """
    need = need or search.COUNT_CAP + 1
    low, high = bounds
    upper, rarest = _upper_bound(tokens)
    # A phrase's candidates: the documents holding its rarest pair, whose estimate the planner
    # has right, so that it ANDs the key range into the bitmap instead of reading every
    # candidate of the archive to test its key (it multiplies the pairs' shares for their AND).
    loose = " & ".join([rarest, *match.split(" & ")[1:]]) if " <-> " in match else match
    margin = PHRASE_MARGIN if loose != match else MARGIN
    fraction = 1.0 if upper <= need * ONE_RANGE_FACTOR else min(1.0, margin * need / upper)
    histogram = _key_histogram() if fraction < 1.0 else []
    # Bitmap scans only: for a frequent token the planner would rather read the table or walk
    # the key index, each a row per document of the range, hit or not.
    _plan_hits(indexscan=False)
    counted = 0
    keys: list[int] = []
    start = low
    while True:
        end = _range_end(histogram, start, fraction, high)
        skip = max(0, offset - counted)
        take = max(0, offset + limit - counted - skip)
        in_range, page = db.session.execute(text(_PHRASE_RANGE if loose != match else _RANGE), {
            "m": match, "loose": loose, "low": start, "high": end, "skip": skip,
            "take": take}).one()
        counted += in_range
        keys.extend(page)
        if counted >= need or end >= high:
            break
        start = end + 1
        fraction = min(1.0, FOLLOW_MARGIN * (need - counted) * fraction / in_range
                       if in_range else fraction * 4)
    _plan_as_usual()
    return min(counted, need), keys


def count(match: str) -> int:
    """How many documents match ``match``: exact up to search.COUNT_CAP, COUNT_CAP + 1 meaning
    more. The first COUNT_CAP + 1 hits the GIN index gives, in the table's order."""
    # No sequential scan, which the planner prefers for a word in an eighth of the documents
    # (LIMIT 10,001 after about 80,000 rows: 140 ms, where the index takes 25-80 ms): for this
    # count only, the page's other reads plan as usual.
    _plan_hits(indexscan=True)
    sql = ("SELECT count(*) FROM (SELECT 1 FROM search_archive_grams "
           "WHERE grams @@ to_tsquery('simple', :m) LIMIT :cap) AS hits")
    counted = db.session.scalar(text(sql), {"m": match, "cap": search.COUNT_CAP + 1}) or 0
    _plan_as_usual()
    return int(counted)


def _plan_hits(indexscan: bool) -> None:
    """For the request's transaction: bitmaps kept exact (the default 4 MB of work_mem makes
    126,370 hits lossy, and every row of a lossy page is read and tested; the page's bitmaps
    after the count use it too), and no sequential scan (nor, unless ``indexscan``, an index
    scan) until _plan_as_usual()."""
    db.session.execute(text("SELECT set_config('work_mem', '32MB', true), "
                            "set_config('enable_seqscan', 'off', true), "
                            "set_config('enable_indexscan', :indexscan, true)"),
                       {"indexscan": "on" if indexscan else "off"})


def _plan_as_usual() -> None:
    """Sequential and index scans allowed again (work_mem stays for the transaction)."""
    db.session.execute(text("SELECT set_config('enable_seqscan', 'on', true), "
                            "set_config('enable_indexscan', 'on', true)"))


def page(match: str, bounds: tuple[int, int], offset: int, limit: int,
         counted: int) -> list[int]:
    """The keys of the ``limit`` documents matching ``match`` after the first ``offset`` in key
    order, for a page within the first SHALLOW hits; ``counted`` is what count() said."""
    params: dict[str, Any] = {"m": match, "limit": limit, "offset": offset}
    if _walk_keys(offset + limit, counted):
        # The key index in order, each row tested (ts_match_vq is the @@ operator's function,
        # which the GIN index cannot serve): about (offset + limit) / share-of-hits rows read.
        params["low"], params["high"] = bounds
        sql = ("SELECT doc_key FROM search_archive_grams "
               "WHERE ts_match_vq(grams, to_tsquery('simple', :m)) "
               "AND doc_key BETWEEN :low AND :high ORDER BY doc_key LIMIT :limit OFFSET :offset")
    else:
        # Every hit from the GIN index, then the first ones: about as many rows as hits.
        sql = ("WITH hits AS MATERIALIZED (SELECT doc_key FROM search_archive_grams "
               "WHERE grams @@ to_tsquery('simple', :m)) "
               "SELECT doc_key FROM hits ORDER BY doc_key LIMIT :limit OFFSET :offset")
    return list(db.session.scalars(text(sql), params))


def _walk_keys(wanted: int, counted: int) -> bool:
    """Whether walking the key index in order reads fewer rows than taking every hit from the
    GIN index. It does for words in a good share of the archive: the first 20 of 10,000+ hits
    in a million documents are a walk of about 2,000 rows."""
    if not counted:
        return False
    documents = db.session.scalar(text(
        "SELECT reltuples FROM pg_class WHERE relname = 'search_archive_grams'")) or 0
    return bool(0 < wanted * documents / counted < counted)


def _upper_bound(tokens: list[str]) -> tuple[int, str]:
    """At most how many documents hold all ``tokens``: the least of the planner's estimates for
    each (its statistics of the index column; each estimate is for one token, never the
    product the planner uses for several, which is far too low for the pairs of one phrase)."""
    estimates = []
    for token in tokens[:ESTIMATED_TOKENS]:
        plan = db.session.scalar(text(
            "EXPLAIN (FORMAT JSON) SELECT 1 FROM search_archive_grams "
            "WHERE grams @@ to_tsquery('simple', :t)"), {"t": token})
        rows = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"]
        estimates.append(int(rows))
    return min(zip(estimates, tokens, strict=False)) if estimates else (0, "")


def _key_histogram() -> list[int]:
    """The key histogram ANALYZE keeps (equal numbers of documents between bounds), or [] when
    there is none yet."""
    value = db.session.scalar(text(
        "SELECT histogram_bounds::text FROM pg_stats WHERE schemaname = current_schema() "
        "AND tablename = 'search_archive_grams' AND attname = 'doc_key'"))
    if not value:
        return []
    return sorted(int(bound) for bound in value.strip("{}").split(",") if bound)


def _range_end(histogram: list[int], start: int, fraction: float, high: int) -> int:
    """The last key of a range from ``start`` holding about ``fraction`` of the documents."""
    if fraction >= 1.0 or len(histogram) < 2:
        return high
    first = bisect.bisect_right(histogram, start)
    steps = max(1, math.ceil(fraction * (len(histogram) - 1)))
    if first + steps >= len(histogram):
        return high
    return min(high, histogram[first + steps])

