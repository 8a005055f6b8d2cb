{{ config(materialized='table', tier='silver', contract='contracts/orders.odcs.yaml') }}
-- Silver: test orders and orders without an amount dropped, statuses lower-cased.
select
    r.id,
    r.customer,
    lower(r.status) as status,
    r.amount,
    r.ordered_at::date as day
from {{ ref('orders_raw') }} r
where r.amount is not null
  and r.status <> 'test'
