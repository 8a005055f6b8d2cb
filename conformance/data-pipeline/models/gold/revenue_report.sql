{{ config(tier='gold') }}
select day, revenue from {{ ref('revenue_by_day') }}
