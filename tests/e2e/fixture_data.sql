-- Rows for fixture.sql, loaded into the source only.
INSERT INTO app.parents (name, parent_id) VALUES ('root', NULL);
INSERT INTO app.parents (name, parent_id) VALUES ('child', 1), ('grandchild', 2);

INSERT INTO app.kitchen_sink (parent_id, mood, moods, p, pairs, tg, pi, pis, j, js, b, n, nums,
    ts, tstz, d, iv, t, tarr, f8, f4, u, ip, bits, fr, ir, mr, x, tsv, pt, m, flag, c, vc)
VALUES
  (1, 'it''s', ARRAY['sad', 'happy']::app.mood[], ROW(1, 'a,b')::app.pair,
   ARRAY[ROW(1, 'x')::app.pair, ROW(NULL, NULL)::app.pair], ROW(7, 'ok')::app.tagged,
   5, ARRAY[1, 2]::app.posint[], '{"k": [1, 2.50, "app.users", null], "ü": true}', '{"raw":  "json" }',
   '\x00ff5c0a0d09'::bytea, 'NaN', ARRAY[1.5, 'NaN', -0.000001]::numeric[],
   'infinity', '-infinity', 'infinity', '1 year 2 mons -3 days 04:05:06.789',
   E'tab\there\nnewline \\ backslash app.users ''quote'' 🚢 end', ARRAY['a', NULL, 'with space', 'q"uote', E'back\\slash'],
   'NaN', '-Infinity', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '192.168.0.1/24', B'10101',
   '[1.5,2.5)', '[1,10)', '{[1,3), [5,7)}', '<a b="1">x &amp; y</a>', 'fat:1A cat:2B', '(1.5,-2)',
   '12.34', true, 'ab', 'short'),
  (2, NULL, '{}', NULL, NULL, NULL, NULL, NULL, 'null', NULL, '', 0, '{}',
   '2024-02-29 23:59:59.999999', '1999-12-31 23:59:59.5+05:30', '0001-01-01 BC', '0', '', '{}',
   1e308, 1.17549435e-38, NULL, '::1', B'', 'empty', 'empty', '{}', NULL, '', NULL, '-0.01', false, NULL, ''),
  (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

INSERT INTO "Weird Schema"."Mixed Case ""Quoted"" Table" VALUES (1, 'from', 'ünï', 'a.b'), (NULL, E'\\N', NULL, '');
INSERT INTO "ünïcödé"."täble" VALUES (1, '日本語'), (2, 'emoji 🚢');
INSERT INTO app.events SELECT g, date '2024-06-01' + g * 3, jsonb_build_object('g', g) FROM generate_series(1, 300) g;
INSERT INTO app.events VALUES (1000, '2030-01-01', '{}');
