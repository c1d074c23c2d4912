-- Incremental: a run replaces the rows of its data interval, keyed on sale_id, so re-running a day
-- or backfilling days in any order gives the same table as one full refresh (macros/data_interval.sql).
-- Built from other raw files than it holds, it is rebuilt from scratch (macros/dataset_identity.sql).
{{
    config(
        materialized='incremental',
        unique_key='sale_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ rebuild_if_dataset_changed() }}",
        post_hook="{{ record_dataset_built_from() }}",
    )
}}

with

bronze_sales as (

    select * from {{ ref('bronze_sales') }}
    where {{ in_data_interval('saletime') }}

),

final as (

    select
        cast(salesid as integer) as sale_id,
        cast(listid as integer) as listing_id,
        cast(sellerid as integer) as seller_id,
        cast(buyerid as integer) as buyer_id,
        cast(eventid as integer) as event_id,
        cast(dateid as integer) as date_id,
        cast(qtysold as integer) as tickets_sold,
        cast(pricepaid as decimal(8, 2)) as price_paid,
        cast(commission as decimal(8, 2)) as commission,
        cast(saletime as timestamp) as sold_at
    from bronze_sales

)

select * from final
