-- Incremental: a run replaces the rows of its data interval, keyed on listing_id, so re-running a day
-- or backfilling days in any order gives the same table as one full refresh (macros/data_interval.sql).
-- Built from other raw files than it holds, it is rebuilt from scratch (macros/dataset_identity.sql).
{{
    config(
        materialized='incremental',
        unique_key='listing_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ rebuild_if_dataset_changed() }}",
        post_hook="{{ record_dataset_built_from() }}",
    )
}}

with

bronze_listing as (

    select * from {{ ref('bronze_listing') }}
    where {{ in_data_interval('listtime') }}

),

final as (

    select
        cast(listid as integer) as listing_id,
        cast(sellerid as integer) as seller_id,
        cast(eventid as integer) as event_id,
        cast(dateid as integer) as date_id,
        cast(numtickets as integer) as tickets_listed,
        cast(priceperticket as decimal(8, 2)) as price_per_ticket,
        cast(totalprice as decimal(8, 2)) as total_price,
        cast(listtime as timestamp) as listed_at
    from bronze_listing

)

select * from final
