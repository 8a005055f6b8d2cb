-- The raw orders the bronze model reads (the test creates the schema and runs this in it).
CREATE TABLE orders_raw (
    id         integer,
    customer   text,
    status     text,
    amount     numeric(10, 2),
    ordered_at timestamp
);
INSERT INTO orders_raw VALUES
    (1, 'ann',  'PAID',    10.00, '2026-11-01 09:00'),
    (2, 'bob',  'paid',    15.50, '2026-11-01 17:30'),
    (3, 'ann',  'Paid',    20.00, '2026-11-02 08:15'),
    (4, 'cid',  'pending',  5.00, '2026-11-02 12:00'),
    (5, 'test', 'test',    99.00, '2026-11-02 13:00'),
    (6, 'bob',  'paid',     NULL, '2026-11-03 10:00');
