"""Numbered, ordered schema migrations; each runs in its own transaction."""

from __future__ import annotations

_OFFER_COLUMNS = """
    marketplace VARCHAR NOT NULL,
    listing_id VARCHAR NOT NULL,
    url VARCHAR,
    title VARCHAR NOT NULL,
    brand VARCHAR,
    gtin VARCHAR,
    mpn VARCHAR,
    sku VARCHAR,
    category VARCHAR,
    attributes JSON,
    price DECIMAL(18, 2) NOT NULL,
    price_raw VARCHAR,
    list_price DECIMAL(18, 2),
    final_price DECIMAL(18, 2),
    final_price_raw VARCHAR,
    shipping DECIMAL(18, 2),
    shipping_raw VARCHAR,
    currency VARCHAR,
    in_stock BOOLEAN,
    stock_qty INTEGER,
    seller VARCHAR,
    store VARCHAR,
    distance_km DOUBLE,
    delivery_hours DOUBLE,
    delivery_raw VARCHAR,
    image VARCHAR,
    observed_at TIMESTAMPTZ NOT NULL
"""

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "initial schema",
        f"""
CREATE TABLE runs (
    run_id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,              -- crawl | match | run
    status VARCHAR NOT NULL,            -- running | finished | partial | failed
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    marketplaces VARCHAR[],
    stats JSON,                         -- per marketplace: pages, offers, dropped, errors, seconds
    config JSON                         -- e.g. the matcher configuration used
);
CREATE TABLE staging_offers (
    run_id VARCHAR NOT NULL,
    {_OFFER_COLUMNS},
    PRIMARY KEY (run_id, marketplace, listing_id)
);
CREATE TABLE offers (
    {_OFFER_COLUMNS},
    first_seen TIMESTAMPTZ NOT NULL,
    last_run_id VARCHAR NOT NULL,
    missed_runs INTEGER NOT NULL DEFAULT 0,
    gone BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (marketplace, listing_id)
);
CREATE TABLE prices (
    run_id VARCHAR NOT NULL,
    marketplace VARCHAR NOT NULL,
    listing_id VARCHAR NOT NULL,
    observed_at TIMESTAMPTZ NOT NULL,
    price DECIMAL(18, 2) NOT NULL,
    list_price DECIMAL(18, 2),
    final_price DECIMAL(18, 2),
    shipping DECIMAL(18, 2),
    currency VARCHAR,
    in_stock BOOLEAN,
    stock_qty INTEGER,
    delivery_hours DOUBLE,
    PRIMARY KEY (run_id, marketplace, listing_id)
);
CREATE TABLE products (
    product_id VARCHAR PRIMARY KEY,
    title VARCHAR NOT NULL,
    brand VARCHAR,
    category VARCHAR,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    match_run_id VARCHAR
);
CREATE TABLE product_offers (
    marketplace VARCHAR NOT NULL,
    listing_id VARCHAR NOT NULL,
    product_id VARCHAR NOT NULL,
    confidence DOUBLE,
    method VARCHAR,
    PRIMARY KEY (marketplace, listing_id)
);
CREATE TABLE match_overrides (
    key_a VARCHAR NOT NULL,
    key_b VARCHAR NOT NULL,
    decision VARCHAR NOT NULL CHECK (decision IN ('confirm', 'split')),
    decided_at TIMESTAMPTZ NOT NULL,
    note VARCHAR,
    PRIMARY KEY (key_a, key_b)
);
CREATE TABLE match_review (
    key_a VARCHAR NOT NULL,
    key_b VARCHAR NOT NULL,
    score DOUBLE,
    reasons VARCHAR,
    match_run_id VARCHAR,
    PRIMARY KEY (key_a, key_b)
);
CREATE INDEX prices_listing ON prices (marketplace, listing_id);
CREATE INDEX product_offers_product ON product_offers (product_id);
""",
    ),
]

MIGRATIONS.append(
    (
        2,
        "alerts and the lowest marketplace per product",
        """
CREATE TABLE alerts (
    alert_id VARCHAR PRIMARY KEY,       -- <run_id>:<kind>:<marketplace/listing_id | product_id>
    run_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,              -- price_drop | price_rise | out_of_stock | back_in_stock | new_lowest
    product_id VARCHAR,
    marketplace VARCHAR,
    listing_id VARCHAR,
    created_at TIMESTAMPTZ NOT NULL,
    payload JSON NOT NULL,              -- the alert as written to the JSON lines file and the webhook
    delivered_at TIMESTAMPTZ            -- when the webhook accepted it (NULL: not sent or no webhook)
);
CREATE INDEX alerts_run ON alerts (run_id);
CREATE TABLE product_lowest (
    product_id VARCHAR PRIMARY KEY,     -- where each product was cheapest after the last run's alerts
    marketplace VARCHAR NOT NULL,
    listing_id VARCHAR NOT NULL,
    landed_price DECIMAL(18, 2) NOT NULL,
    run_id VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
""",
    )
)

MIGRATIONS.append(
    (
        3,
        "store coordinates, delivery radius and promotion texts of offers",
        """
ALTER TABLE staging_offers ADD COLUMN latitude DOUBLE;
ALTER TABLE staging_offers ADD COLUMN longitude DOUBLE;
ALTER TABLE staging_offers ADD COLUMN delivery_radius_km DOUBLE;
ALTER TABLE staging_offers ADD COLUMN promotions VARCHAR[];
ALTER TABLE offers ADD COLUMN latitude DOUBLE;
ALTER TABLE offers ADD COLUMN longitude DOUBLE;
ALTER TABLE offers ADD COLUMN delivery_radius_km DOUBLE;
ALTER TABLE offers ADD COLUMN promotions VARCHAR[];
""",
    )
)

MIGRATIONS.append(
    (
        4,
        "watchlist, watch state and per-channel alert deliveries",
        """
CREATE SEQUENCE watch_ids START 1;
CREATE TABLE watches (
    watch_id INTEGER PRIMARY KEY DEFAULT nextval('watch_ids'),
    product_id VARCHAR NOT NULL,
    below DECIMAL(18, 2),               -- 到价提醒: alert when the lowest landed price is at or below
    drop_percent DOUBLE,                -- alert when it is this far below the reference (30-day) price
    back_in_stock BOOLEAN NOT NULL DEFAULT false,
    label VARCHAR,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE watch_state (
    watch_id INTEGER NOT NULL,
    kind VARCHAR NOT NULL,              -- below_target | real_drop | restocked
    active BOOLEAN NOT NULL,            -- the condition held at the last run (alerted when it became true)
    price DECIMAL(18, 2),
    run_id VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (watch_id, kind)
);
CREATE TABLE alert_deliveries (
    alert_id VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    delivered_at TIMESTAMPTZ,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error VARCHAR,
    PRIMARY KEY (alert_id, channel)
);
""",
    )
)

MIGRATIONS.append(
    (
        5,
        "currency rates and price settings",
        """
CREATE TABLE fx_rates (                 -- user-supplied exchange rates: 1 currency = rate quote, from valid_on
    currency VARCHAR NOT NULL,
    quote VARCHAR NOT NULL,
    rate DECIMAL(18, 8) NOT NULL CHECK (rate > 0),
    valid_on DATE NOT NULL,
    set_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (currency, quote, valid_on)
);
CREATE TABLE price_settings (           -- display_currency, unknown_shipping (see storage.rates)
    name VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
""",
    )
)

MIGRATIONS.append(
    (
        6,
        "incremental matching: each offer's matching fingerprint and the accepted pairs of the last match",
        """
CREATE TABLE match_state (
    marketplace VARCHAR NOT NULL,       -- one row per offer the last match grouped
    listing_id VARCHAR NOT NULL,
    fingerprint UBIGINT NOT NULL,       -- hash of its matching fields then (storage.products.FINGERPRINT)
    norm VARCHAR NOT NULL,              -- its normalised title
    keys BLOB NOT NULL,                 -- its blocking key hashes (int64)
    prepared BLOB NOT NULL              -- the matcher's prepared row (matching.columns.row_blob)
);
CREATE TABLE match_edges (
    key_a VARCHAR NOT NULL,             -- an accepted pair (marketplace/listing_id, key_a < key_b)
    key_b VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    method VARCHAR NOT NULL             -- gtin | model | title
);
""",
    )
)

MIGRATIONS.append(
    (
        7,
        "matcher models re-fitted with the merchandiser's decisions (the run's config names the model version)",
        """
CREATE TABLE match_models (
    version VARCHAR PRIMARY KEY,        -- content hash of the model (as in MatchConfig.model_version)
    created_at TIMESTAMPTZ NOT NULL,
    decisions INTEGER NOT NULL,         -- how many confirm/split decisions it learned from
    active BOOLEAN NOT NULL,            -- the model `bijia match` uses (none active: the shipped default)
    summary JSON NOT NULL,              -- what it was fitted and chosen on, its valid F1 per set
    model JSON NOT NULL                 -- the model itself (matching/models/default.json format)
);
""",
    )
)

MIGRATIONS.append(
    (
        8,
        "incremental matching: each offer's twin key, so the twin order of large blocks reads no kept row",
        """
ALTER TABLE match_state ADD COLUMN twin VARCHAR;  -- matching.blocking.twin_key of the row (NULL: read the row)
""",
    )
)

MIGRATIONS.append(
    (
        9,
        "incremental matching: each offer's veto inputs, so the veto codes of candidate pairs read no kept row",
        """
ALTER TABLE match_state ADD COLUMN veto VARCHAR;  -- its attributes and GTIN as JSON (NULL: read the row)
""",
    )
)
