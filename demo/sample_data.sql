-- Rows for the demo's sample database (psql -v schema=local_app).
SET search_path = :"schema";
SELECT setseed(0.42);

INSERT INTO categories VALUES (1, 'All', NULL), (2, 'Books', 1), (3, 'Music', 1), (4, 'Rare books', 2);

INSERT INTO customers (email, name, tags, profile, created_at)
SELECT 'user' || g || '@example.com',
       'Customer ' || g,
       ARRAY['tier-' || (g % 3), 'region-' || (g % 7)],
       jsonb_build_object('visits', g % 97, 'newsletter', g % 2 = 0,
                          -- Data that mentions the schema: a rename must not touch it.
                          'note', 'imported from local_app.customers'),
       timestamptz '2025-01-01' + g * interval '7 minutes'
  FROM generate_series(1, 20000) g;

INSERT INTO products (category_id, sku, title, price, photo)
SELECT 2 + g % 3, 'SKU-' || lpad(g::text, 6, '0'), 'Product ' || g,
       round((random() * 200)::numeric, 2),
       CASE WHEN g % 10 = 0 THEN decode(md5(g::text) || md5((g + 1)::text), 'hex') END
  FROM generate_series(1, 2000) g;

INSERT INTO orders (customer_id, status, note, placed_at)
SELECT 1 + (g * 7919) % 20000,
       (ARRAY['new', 'paid', 'shipped', 'cancelled']::order_status[])[1 + g % 4],
       CASE WHEN g % 5 = 0 THEN E'gift\twrap, "fragile"\nthanks' END,
       timestamptz '2025-01-01' + g * interval '3 minutes'
  FROM generate_series(1, 60000) g;

INSERT INTO order_items (order_id, product_id, quantity, unit_price)
SELECT o, 1 + (o * 3 + k) % 2000, 1 + (o + k) % 4, round((1 + (o * k) % 150)::numeric, 2)
  FROM generate_series(1, 60000) o, generate_series(1, 3) k;

INSERT INTO events (id, at, kind, payload)
SELECT g, timestamptz '2025-03-01' + g * interval '90 seconds',
       (ARRAY['view', 'click', 'buy'])[1 + g % 3],
       jsonb_build_object('session', md5(g::text), 'n', g)
  FROM generate_series(1, 400000) g;
