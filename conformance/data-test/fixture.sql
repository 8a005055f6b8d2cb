-- The data the contracts beside this file are tested on (PostgreSQL). Loaded into the schema
-- the contracts name (dq_corpus) by scripts/data-test-expected.sh, and into a schema of its own
-- by socle-data-pg's corpus test. Ages are relative to now(), with margins of hours or more.
CREATE TABLE orders (
  order_id text, customer_email text, status text, amount numeric(12,2), qty integer,
  placed_at timestamptz, country text
);
INSERT INTO orders VALUES
  ('o1', 'a@x.io', 'paid', 10.50, 1, now() - interval '1 hour', 'FR'),
  ('o2', NULL, 'paid', 20, 2, now() - interval '2 hours', 'DE'),
  ('o2', 'c@x.io', 'bogus', -5, 0, now() - interval '3 days', 'XX'),
  (NULL, 'd@x.io', 'n/a', NULL, 3, now() - interval '400 days', ''),
  ('o5', 'e@x.io', 'shipped', 99999, 4, now() - interval '5 hours', 'FR'),
  ('o6', 'f@x.io', '', 15, 4, now() - interval '6 hours', 'fr');

CREATE TABLE customers (
  customer_id integer, email text, name varchar(40), country char(2), vip boolean,
  created_at timestamp, birth_date date
);
INSERT INTO customers VALUES
  (1, 'a@x.io', 'Ada', 'FR', true, now() - interval '2 hours', '1990-01-01'),
  (2, 'b@x.io', 'Bob', 'DE', false, now() - interval '3 hours', '1985-06-30'),
  (3, 'c@x.io', 'Cy', 'IT', false, now() - interval '4 hours', NULL);

CREATE TABLE order_lines (
  order_id text, line_no integer, sku text, quantity integer, unit_price double precision
);
INSERT INTO order_lines VALUES
  ('o1', 1, 'SKU-001', 1, 9.99),
  ('o1', 2, 'SKU-002', 3, 1.50),
  ('o2', 1, 'SKU-001', 2, 9.99),
  ('o2', 1, 'sku-9', 200, 0),
  ('o5', 1, NULL, 5, NULL),
  ('o5', NULL, 'SKU-003', 1, 4.25);
