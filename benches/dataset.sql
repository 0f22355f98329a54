-- Benchmark dataset: psql -v scale=N -f benches/dataset.sql
-- About 100 MB of table data per unit of scale (default scale 20, ~2 GB):
-- tables of very different sizes, mixed types with real entropy, indexes
-- and foreign keys, as an application database has.
\set ON_ERROR_STOP on
CREATE SCHEMA bench;
SET search_path = bench;
SELECT setseed(0.1);

CREATE TABLE accounts (
    id bigint PRIMARY KEY,
    email text NOT NULL,
    name text NOT NULL,
    plan text NOT NULL,
    profile jsonb NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    amount numeric(12, 2) NOT NULL,
    status text NOT NULL,
    tags text[] NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE TABLE events (
    id bigint PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    at timestamptz NOT NULL,
    kind text NOT NULL,
    payload jsonb NOT NULL
);
CREATE INDEX events_at ON events (at);
CREATE TABLE attachments (
    id bigint PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES orders (id),
    name text NOT NULL,
    body bytea NOT NULL
);
CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL);

INSERT INTO settings SELECT 'key' || g, md5(g::text) FROM generate_series(1, 100) g;

INSERT INTO accounts
SELECT g, 'user' || g || '@' || md5(random()::text) || '.example', initcap(md5(random()::text)),
       (ARRAY['free', 'pro', 'team'])[1 + (random() * 2)::int],
       jsonb_build_object('score', round((random() * 1000)::numeric, 3), 'token', md5(random()::text),
                          'flags', jsonb_build_array(random() > 0.5, random() > 0.9)),
       timestamptz '2020-01-01' + random() * interval '5 years'
  FROM generate_series(1, 10000 * :scale) g;

INSERT INTO orders
SELECT g, 1 + (random() * (10000 * :scale - 1))::bigint, round((random() * 5000)::numeric, 2),
       (ARRAY['new', 'paid', 'shipped', 'refunded'])[1 + (random() * 3)::int],
       ARRAY[md5(random()::text), 'tag' || (random() * 50)::int],
       timestamptz '2021-01-01' + random() * interval '4 years'
  FROM generate_series(1, 100000 * :scale) g;

INSERT INTO events
SELECT g, 1 + (random() * (10000 * :scale - 1))::bigint,
       timestamptz '2024-01-01' + g * interval '10 ms',
       (ARRAY['view', 'click', 'purchase', 'login', 'logout'])[1 + (random() * 4)::int],
       jsonb_build_object('session', md5(random()::text), 'page', '/p/' || (random() * 10000)::int,
                          'ms', (random() * 5000)::int, 'ref', md5(random()::text))
  FROM generate_series(1, 500000 * :scale) g;

INSERT INTO attachments
SELECT g, 1 + (random() * (100000 * :scale - 1))::bigint, 'file-' || g || '.bin',
       decode(string_agg(md5(random()::text), ''), 'hex')
  FROM generate_series(1, 1000 * :scale) g, generate_series(1, 500) k
 GROUP BY g;

VACUUM ANALYZE;
CHECKPOINT;
