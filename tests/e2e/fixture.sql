-- The ugly cases of DESIGN.md, in awkward names. Applied to both the
-- source and the target (the target's tables exist before a data-only copy).
CREATE SCHEMA app;
CREATE SCHEMA "Weird Schema";
CREATE SCHEMA "ünïcödé";
CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy', 'it''s');
CREATE DOMAIN app.posint AS integer CHECK (VALUE > 0);
CREATE TYPE app.pair AS (a integer, b text);
CREATE TYPE app.tagged AS (n integer, m app.mood);
CREATE TYPE app.floatrange AS RANGE (subtype = float8);

CREATE TABLE app.parents (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    parent_id bigint REFERENCES app.parents (id)
);

CREATE TABLE app.kitchen_sink (
    id serial PRIMARY KEY,
    parent_id bigint REFERENCES app.parents (id),
    mood app.mood,
    moods app.mood[],
    p app.pair,
    pairs app.pair[],
    tg app.tagged,
    pi app.posint,
    pis app.posint[],
    j jsonb,
    js json,
    b bytea,
    n numeric,
    nums numeric[],
    ts timestamp,
    tstz timestamptz,
    d date,
    iv interval,
    t text,
    tarr text[],
    f8 float8,
    f4 real,
    u uuid,
    ip inet,
    bits bit varying,
    fr app.floatrange,
    ir int4range,
    mr int4multirange,
    x xml,
    tsv tsvector,
    pt point,
    m money,
    flag boolean,
    c char(3),
    vc varchar(10),
    twice bigint GENERATED ALWAYS AS (id * 2) STORED
);

CREATE TABLE "Weird Schema"."Mixed Case ""Quoted"" Table" (
    "select" int, "from" text, "Ünï Col" text, "a.b" text
);
CREATE TABLE "ünïcödé"."täble" (ключ int PRIMARY KEY, 値 text);
CREATE TABLE app.empty_table (id int, v text);

CREATE TABLE app.events (id bigint, at date NOT NULL, payload jsonb) PARTITION BY RANGE (at);
CREATE TABLE app.events_2024 PARTITION OF app.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE app.events_2025 PARTITION OF app.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE app.events_other PARTITION OF app.events DEFAULT;
