{{ config(materialized='view', tier='bronze', contract='contracts/orders_raw.odcs.yaml') }}
-- Bronze: the raw orders as they land.
select * from {{ source('shop', 'orders_raw') }}
