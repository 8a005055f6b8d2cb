{{ config(materialized='view', tier='silver', contract='contracts/customers.odcs.yaml') }}
with first_orders as (
    select customer, min(ordered_at) as first_order
    from {{ ref('orders_raw') }}
    where status <> 'test'
    group by customer
)
select customer, first_order from first_orders
