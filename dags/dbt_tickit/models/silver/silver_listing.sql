with

bronze_listing as (

    select * from {{ ref('bronze_listing') }}

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
