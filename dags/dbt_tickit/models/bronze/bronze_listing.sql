-- One-for-one copy of raw.listing: same columns, same rows, no business logic.
with

source as (

    select * from {{ source('tickit_raw', 'listing') }}

),

final as (

    select
        listid,
        sellerid,
        eventid,
        dateid,
        numtickets,
        priceperticket,
        totalprice,
        listtime
    from source

)

select * from final
