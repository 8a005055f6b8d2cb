{{ config(materialized='table', tier='gold', contract='contracts/revenue_by_day.odcs.yaml') }}
-- Gold: revenue of paid orders per day.
select day, sum(amount) as revenue, count(*) as orders
from {{ ref('orders') }}
where status = 'paid'
group by day
