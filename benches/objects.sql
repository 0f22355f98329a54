-- Many-objects benchmark dataset: psql -v tables=N -f benches/objects.sql
-- N small tables in schema `app`, each with a primary key, an index, a
-- foreign key (to the previous table), a view, a function and a comment,
-- and 10 rows: the shape of an application schema, where a move costs
-- round trips rather than bytes.
\set ON_ERROR_STOP on
CREATE SCHEMA app;
SET search_path = app;
SELECT pg_catalog.format($f$
CREATE TABLE app.t%1$s (
    id integer PRIMARY KEY,
    parent_id integer %2$s,
    name text NOT NULL,
    amount numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX t%1$s_name ON app.t%1$s (name);
CREATE VIEW app.v%1$s AS SELECT id, name, amount FROM app.t%1$s WHERE amount > 0;
CREATE FUNCTION app.f%1$s(p integer) RETURNS bigint LANGUAGE sql STABLE
    AS 'SELECT count(*) FROM app.t%1$s WHERE id > p';
COMMENT ON TABLE app.t%1$s IS 'table %1$s of the many-objects benchmark';
INSERT INTO app.t%1$s (id, parent_id, name, amount)
    SELECT g, CASE WHEN %1$s > 1 THEN g END, 'row ' || g, g * 1.5 FROM generate_series(1, 10) g;
$f$, i, CASE WHEN i > 1 THEN pg_catalog.format('REFERENCES app.t%s (id)', i - 1) ELSE '' END)
FROM generate_series(1, :tables) i
\gexec
