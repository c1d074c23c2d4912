-- One-for-one copy of raw.venue: same columns, same rows, no business logic.
with

source as (

    select * from {{ source('tickit_raw', 'venue') }}

),

final as (

    select
        venueid,
        venuename,
        venuecity,
        venuestate,
        venueseats
    from source

)

select * from final
