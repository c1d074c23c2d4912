-- One-for-one copy of raw.event: same columns, same rows, no business logic.
with

source as (

    select * from {{ source('tickit_raw', 'event') }}

),

final as (

    select
        eventid,
        venueid,
        catid,
        dateid,
        eventname,
        starttime
    from source

)

select * from final
