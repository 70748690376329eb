"""Reading offers for the matcher and saving its groups as products with stable ids, with the match state
incremental matching starts from (each offer's fingerprint, the accepted pairs)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np

from storage.db import rollback
from storage.schema import effective_price

FINGERPRINT = "hash(title, brand, gtin, mpn, CAST(attributes AS VARCHAR), category)"
"""The matching fields of an offer, hashed: a changed title, brand, GTIN, MPN, attributes or category makes
the offer changed for incremental matching. Not the price: it changes daily and is a weak signal."""
_KEY = "marketplace || '/' || listing_id"
_ROW_TEXT_COLUMNS = ("twin", "veto")
"""``match_state`` columns of texts kept beside each prepared row, in the order ``MatchWrite.state`` ends
with them."""
INSERT_SLICE = 200_000
"""Rows per insert of a match's state and edges: a full match of 1.12M offers handed DuckDB all 1.12M rows and
5M edges at once, as lists bound to one statement, and its memory grew by 4 GB there (session 27)."""
FETCH_BATCH = 100_000
"""Offers fetched at once to be matched (each batch's tuples freed once made into ``OfferRow``s)."""


@dataclass(frozen=True)
class OfferRow:
    """What the matcher needs of a stored offer."""

    key: str
    marketplace: str
    title: str
    brand: str | None
    gtin: str | None
    mpn: str | None
    attributes: dict[str, str]
    price: float | None
    category: str | None
    fingerprint: int = 0


def marketplaces_to_match(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The marketplaces of the offers not gone, sorted."""
    return [
        m
        for (m,) in con.execute(
            "SELECT DISTINCT marketplace FROM offers WHERE NOT gone ORDER BY 1"
        ).fetchall()
    ]


def offers_for_matching(con: duckdb.DuckDBPyConnection, keys: Sequence[str] | None = None) -> list[OfferRow]:
    """Every offer not gone (or those of ``keys``), sorted by key (``marketplace/listing_id``)."""
    where = "NOT gone"
    if keys is not None:
        _key_table(con, keys)
        where += f" AND {_KEY} IN (SELECT key FROM _match_keys)"
    cursor = con.execute(
        "SELECT marketplace, listing_id, title, brand, gtin, mpn, attributes, "
        f"CAST({effective_price()} AS DOUBLE), category, {FINGERPRINT} FROM offers WHERE {where} "
        f"ORDER BY {_KEY}"
    )
    offers: list[OfferRow] = []
    while rows := cursor.fetchmany(FETCH_BATCH):  # not every row's tuple alive beside every OfferRow
        offers.extend(
            OfferRow(
                f"{m}/{lid}", m, title, brand, gtin, mpn, json.loads(attrs) if attrs else {}, price, cat, fp
            )
            for m, lid, title, brand, gtin, mpn, attrs, price, cat, fp in rows
        )
    return offers


@dataclass
class OffersToMatch:
    """Every offer not gone, sorted by key, with what the last match kept of it when its matching fields
    have not changed since (``None``: new or changed)."""

    keys: list[str]
    marketplaces: list[str]
    fingerprints: list[int]
    norms: list[str | None]
    key_hashes: list[bytes | None]
    kept: list[bool]
    """Whether the last match kept its prepared row (:func:`prepared_rows` reads them)."""


def offers_to_match(con: duckdb.DuckDBPyConnection) -> OffersToMatch:
    kept = f"s.fingerprint = {FINGERPRINT}"
    got = con.execute(
        "SELECT o.marketplace || '/' || o.listing_id AS key, o.marketplace, "
        f"{FINGERPRINT} AS fp, CASE WHEN {kept} THEN s.norm END AS norm, CASE WHEN {kept} THEN s.keys END "
        f"AS keys, coalesce({kept}, false) AS kept FROM offers o LEFT JOIN match_state s "
        "ON s.marketplace = o.marketplace AND s.listing_id = o.listing_id WHERE NOT o.gone ORDER BY key"
    ).fetchnumpy()
    return OffersToMatch(
        got["key"].tolist(),
        got["marketplace"].tolist(),
        got["fp"].tolist(),
        [
            None if m else v
            for v, m in zip(
                np.ma.getdata(got["norm"]).tolist(), np.ma.getmaskarray(got["norm"]).tolist(), strict=True
            )
        ],
        _blobs(got["keys"]),
        got["kept"].tolist(),
    )


def prepared_rows(con: duckdb.DuckDBPyConnection, keys: Sequence[str]) -> list[bytes]:
    """The prepared rows the last match kept of the offers of ``keys`` (each must have one), in order."""
    return _kept(con, "prepared", keys)


def kept_texts(con: duckdb.DuckDBPyConnection, kind: str, keys: Sequence[str]) -> list[str | None]:
    """A kind of text the last match kept beside the rows of the offers of ``keys`` (each must have a kept
    row; ``kind``: ``twin`` or ``veto``, ``matching.store.ROW_TEXTS``), in order; ``None`` where that match
    did not store one."""
    if kind not in _ROW_TEXT_COLUMNS:
        raise ValueError(f"no kept text {kind!r}")
    return _kept(con, kind, keys)


def _kept(con: duckdb.DuckDBPyConnection, column: str, keys: Sequence[str]) -> list[Any]:
    _key_table(con, keys)
    got = dict(
        con.execute(
            f"SELECT {_KEY}, {column} FROM match_state WHERE {_KEY} IN (SELECT key FROM _match_keys)"
        ).fetchall()
    )
    return [got[k] for k in keys]


def _blobs(column: Any) -> list[bytes | None]:
    """A BLOB column from ``fetchnumpy`` (masked where NULL) as bytes or None."""
    values = np.ma.getdata(column).tolist()
    return [None if m else bytes(v) for v, m in zip(values, np.ma.getmaskarray(column).tolist(), strict=True)]


def gone_since_match(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Offers the last match grouped that are gone (or deleted) now."""
    rows = con.execute(
        f"SELECT {_KEY} FROM match_state s WHERE NOT EXISTS (SELECT 1 FROM offers o WHERE "
        "o.marketplace = s.marketplace AND o.listing_id = s.listing_id AND NOT o.gone)"
    ).fetchall()
    return [r[0] for r in rows]


def previous_product_ids(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = con.execute(f"SELECT {_KEY}, product_id FROM product_offers").fetchall()
    return dict(rows)


@dataclass
class MatchState:
    """What the last finished match left (its products and accepted pairs are read when needed:
    :func:`previous_product_ids`, :func:`kept_edges`, :func:`product_members`)."""

    config: dict[str, Any] | None
    """Its matcher configuration (``None``: no match yet)."""
    started_at: datetime | None
    offers: int
    """Offers it grouped."""
    review: list[tuple[str, str, float, str]]


def match_state(con: duckdb.DuckDBPyConnection) -> MatchState:
    last = con.execute(
        "SELECT config, started_at FROM runs WHERE kind = 'match' AND status = 'finished' "
        "ORDER BY started_at DESC LIMIT 1"
    ).fetchone()
    (offers,) = con.execute("SELECT count(*) FROM match_state").fetchone() or (0,)
    review = con.execute("SELECT key_a, key_b, score, reasons FROM match_review").fetchall()
    return MatchState(
        json.loads(last[0]) if last and last[0] else None, last[1] if last else None, int(offers), review
    )


def kept_edges(
    con: duckdb.DuckDBPyConnection, methods: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The last match's accepted pairs between offers not gone, as (row a, row b, score, method): rows are
    positions in key order (as :func:`offers_to_match` reads them), a method its position in ``methods``
    (0 when not there). Joined here, not by key strings in Python: millions of pairs at a million offers."""
    got = con.execute(
        f"WITH o AS (SELECT {_KEY} AS key, row_number() OVER (ORDER BY {_KEY}) - 1 AS i FROM offers "
        "WHERE NOT gone) SELECT a.i AS i, b.i AS j, e.score AS score, "
        "coalesce(list_position(?::VARCHAR[], e.method), 1) - 1 AS method FROM match_edges e "
        "JOIN o a ON a.key = e.key_a JOIN o b ON b.key = e.key_b",
        [list(methods)],
    ).fetchnumpy()
    return (
        got["i"].astype(np.int64),
        got["j"].astype(np.int64),
        got["score"].astype(np.float64),
        got["method"].astype(np.int8),
    )


def product_members(con: duckdb.DuckDBPyConnection, keys: Sequence[str]) -> list[str]:
    """Every offer in the products the offers of ``keys`` belong to now."""
    _key_table(con, keys)
    rows = con.execute(
        f"SELECT {_KEY} FROM product_offers WHERE product_id IN (SELECT product_id FROM product_offers "
        f"WHERE {_KEY} IN (SELECT key FROM _match_keys))"
    ).fetchall()
    return [r[0] for r in rows]


def product_ids_of(con: duckdb.DuckDBPyConnection, keys: Sequence[str]) -> tuple[dict[str, str], set[str]]:
    """(offer key → product id of the offers of ``keys``, the product ids of every other offer)."""
    _key_table(con, keys)
    mine = con.execute(
        f"SELECT {_KEY}, product_id FROM product_offers WHERE {_KEY} IN (SELECT key FROM _match_keys)"
    ).fetchall()
    others = con.execute(
        f"SELECT DISTINCT product_id FROM product_offers WHERE {_KEY} NOT IN (SELECT key FROM _match_keys)"
    ).fetchall()
    return dict(mine), {r[0] for r in others}


def overrides_since(con: duckdb.DuckDBPyConnection, when: datetime | None) -> set[str]:
    """Offer keys with an override decided at or after ``when`` (all of them when ``None``)."""
    rows = con.execute(
        "SELECT key_a, key_b FROM match_overrides WHERE ? IS NULL OR decided_at >= ?", [when, when]
    ).fetchall()
    return {k for row in rows for k in row}


@dataclass(frozen=True)
class SavedGroup:
    product_id: str
    members: Sequence[str]
    confidence: float
    methods: dict[str, str]


@dataclass
class MatchWrite:
    """One match's changes. ``full``: everything is replaced; else only what the lists name."""

    full: bool
    groups: Sequence[SavedGroup]
    titles: dict[str, tuple[str, str | None, str | None]]
    """product_id → (title, brand, category) of each group."""
    regrouped: Sequence[str] = ()
    """Offer keys whose product rows are replaced (their new rows are in ``groups``) or dropped."""
    changed: Sequence[str] = ()
    """Offer keys whose match state and edges are replaced (new, changed or gone offers)."""
    state: tuple[
        Sequence[str],
        Sequence[int],
        Sequence[str],
        Sequence[bytes],
        Sequence[bytes],
        Sequence[str],
        Sequence[str],
    ] = ((), (), (), (), (), (), ())
    """(keys, fingerprints, normalised titles, key hashes, prepared rows, twin keys, veto inputs) now, for the
    offers in ``changed`` that are still there (every offer if full)."""
    edges: tuple[Sequence[str], Sequence[str], Sequence[float], Sequence[str]] = ((), (), (), ())
    """Accepted pairs with a side in ``changed`` (every accepted pair if full)."""
    review: Sequence[tuple[str, str, float, str]] | None = None
    """The review queue now (``None``: left as it is)."""
    kept_products: frozenset[str] = frozenset()
    """Products of ``groups`` regrouped just as they were (same members, none changed): their rows in
    ``products`` are left as they are (no entry in ``titles``)."""


def save_match(con: duckdb.DuckDBPyConnection, run_id: str, write: MatchWrite) -> None:
    """Write a match in one transaction: products and their offers, the match state, the review queue."""
    con.execute("BEGIN TRANSACTION")
    try:
        if write.full:
            for table in ("product_offers", "match_state", "match_edges"):
                con.execute(f"DELETE FROM {table}")
            _insert_groups(con, write.groups)
        else:
            _replace_groups(con, write.regrouped, write.groups)
            _drop_keys(con, "match_state", write.changed)
            _drop_edges(con, write.changed)
        _save_products(con, run_id, write.titles)
        _insert_sliced(
            con,
            "INSERT INTO match_state SELECT split_part(k, '/', 1), k[strpos(k, '/') + 1:], f, n, h, b, t, v "
            "FROM (SELECT unnest(?::VARCHAR[]) AS k, unnest(?::UBIGINT[]) AS f, unnest(?::VARCHAR[]) AS n, "
            "unnest(?::BLOB[]) AS h, unnest(?::BLOB[]) AS b, unnest(?::VARCHAR[]) AS t, "
            "unnest(?::VARCHAR[]) AS v)",
            write.state,
        )
        _insert_sliced(
            con,
            "INSERT INTO match_edges SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
            "unnest(?::DOUBLE[]), unnest(?::VARCHAR[])",
            write.edges,
        )
        if write.review is not None:
            _replace_review(con, run_id, write.review)
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise


def _insert_sliced(con: duckdb.DuckDBPyConnection, sql: str, columns: Sequence[Sequence[Any]]) -> None:
    """``sql`` (one ``?`` list per column) over ``INSERT_SLICE`` rows at a time, in order."""
    for start in range(0, len(columns[0]), INSERT_SLICE):
        con.execute(sql, [list(column[start : start + INSERT_SLICE]) for column in columns])


def save_products(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    groups: Sequence[SavedGroup],
    titles: dict[str, tuple[str, str | None, str | None]],
) -> None:
    """Replace the whole grouping with ``groups`` (no match state: the next match regroups from scratch)."""
    save_match(con, run_id, MatchWrite(full=True, groups=groups, titles=titles))


def _key_table(con: duckdb.DuckDBPyConnection, keys: Sequence[str]) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE _match_keys (key VARCHAR)")
    con.execute("INSERT INTO _match_keys SELECT unnest(?::VARCHAR[])", [list(keys)])


def _drop_keys(con: duckdb.DuckDBPyConnection, table: str, keys: Sequence[str]) -> None:
    if keys:
        _key_table(con, keys)
        con.execute(f"DELETE FROM {table} WHERE {_KEY} IN (SELECT key FROM _match_keys)")


def _drop_edges(con: duckdb.DuckDBPyConnection, keys: Sequence[str]) -> None:
    if keys:
        _key_table(con, keys)
        con.execute(
            "DELETE FROM match_edges WHERE key_a IN (SELECT key FROM _match_keys) "
            "OR key_b IN (SELECT key FROM _match_keys)"
        )


def _insert_groups(con: duckdb.DuckDBPyConnection, groups: Sequence[SavedGroup]) -> None:
    _groups_table(con, groups)
    con.execute("INSERT INTO product_offers SELECT * FROM _match_groups")


def _replace_groups(
    con: duckdb.DuckDBPyConnection, regrouped: Sequence[str], groups: Sequence[SavedGroup]
) -> None:
    """The product rows of the ``regrouped`` offers replaced by those of ``groups``, writing only the rows
    that differ: most regrouped offers stay in the product they were in."""
    _groups_table(con, groups)
    _key_table(con, regrouped)
    con.execute(
        f"DELETE FROM product_offers p WHERE {_KEY} IN (SELECT key FROM _match_keys) AND NOT EXISTS "
        "(SELECT 1 FROM _match_groups g WHERE g.marketplace = p.marketplace AND g.listing_id = p.listing_id "
        "AND g.product_id = p.product_id AND g.confidence IS NOT DISTINCT FROM p.confidence "
        "AND g.method IS NOT DISTINCT FROM p.method)"
    )
    con.execute(
        "INSERT INTO product_offers SELECT * FROM _match_groups g WHERE NOT EXISTS (SELECT 1 FROM "
        "product_offers p WHERE p.marketplace = g.marketplace AND p.listing_id = g.listing_id)"
    )


def _groups_table(con: duckdb.DuckDBPyConnection, groups: Sequence[SavedGroup]) -> None:
    """The product rows of ``groups`` in the temporary table ``_match_groups``."""
    keys = [key for g in groups for key in g.members]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _match_groups AS SELECT split_part(k, '/', 1) AS marketplace, "
        "k[strpos(k, '/') + 1:] AS listing_id, p AS product_id, c AS confidence, m AS method "
        "FROM (SELECT unnest(?::VARCHAR[]) AS k, unnest(?::VARCHAR[]) AS p, unnest(?::DOUBLE[]) AS c, "
        "unnest(?::VARCHAR[]) AS m)",
        [
            keys,
            [g.product_id for g in groups for _ in g.members],
            [float(g.confidence) for g in groups for _ in g.members],
            [g.methods.get(key, "") for g in groups for key in g.members],
        ],
    )


def _save_products(
    con: duckdb.DuckDBPyConnection, run_id: str, titles: dict[str, tuple[str, str | None, str | None]]
) -> None:
    """Upsert the products of ``titles`` (``created_at`` kept); drop products no offer belongs to any more."""
    now = datetime.now(UTC)
    product_ids = list(titles)
    con.execute(
        "DELETE FROM products WHERE product_id NOT IN (SELECT DISTINCT product_id FROM product_offers)"
    )
    con.execute(
        "INSERT INTO products SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
        "unnest(?::VARCHAR[]), ?, ?, ? ON CONFLICT (product_id) DO UPDATE SET title = excluded.title, "
        "brand = excluded.brand, category = excluded.category, updated_at = excluded.updated_at, "
        "match_run_id = excluded.match_run_id",
        [
            product_ids,
            [titles[p][0] for p in product_ids],
            [titles[p][1] for p in product_ids],
            [titles[p][2] for p in product_ids],
            now,
            now,
            run_id,
        ],
    )


def overrides(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    return con.execute("SELECT key_a, key_b, decision FROM match_overrides ORDER BY decided_at").fetchall()


def add_override(
    con: duckdb.DuckDBPyConnection, key_a: str, key_b: str, decision: str, note: str | None = None
) -> None:
    a, b = sorted((key_a, key_b))
    con.execute(
        "INSERT INTO match_overrides VALUES (?, ?, ?, ?, ?) ON CONFLICT (key_a, key_b) DO UPDATE "
        "SET decision = excluded.decision, decided_at = excluded.decided_at, note = excluded.note",
        [a, b, decision, datetime.now(UTC), note],
    )


def _replace_review(
    con: duckdb.DuckDBPyConnection, run_id: str, pairs: Sequence[tuple[str, str, float, str]]
) -> None:
    con.execute("DELETE FROM match_review")
    if pairs:
        a, b, s, r = (
            list(x)
            for x in zip(*[(min(p[0], p[1]), max(p[0], p[1]), p[2], p[3]) for p in pairs], strict=True)
        )
        con.execute(
            "INSERT INTO match_review SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
            "unnest(?::DOUBLE[]), unnest(?::VARCHAR[]), ? ON CONFLICT DO NOTHING",
            [a, b, s, r, run_id],
        )
