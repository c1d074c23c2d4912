-- One-for-one copy of raw.sales: same columns, same rows, no business logic.
with

source as (

    select * from {{ source('tickit_raw', 'sales') }}

),

final as (

    select
        salesid,
        listid,
        sellerid,
        buyerid,
        eventid,
        dateid,
        qtysold,
        pricepaid,
        commission,
        saletime
    from source

)

select * from final
