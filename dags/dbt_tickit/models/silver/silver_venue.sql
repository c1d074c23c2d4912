-- Venues; a seat count of 0 means unknown in the source files, so it becomes NULL.
with

bronze_venue as (

    select * from {{ ref('bronze_venue') }}

),

final as (

    select
        cast(venueid as integer) as venue_id,
        trim(venuename) as venue_name,
        trim(venuecity) as venue_city,
        upper(trim(venuestate)) as venue_state,
        nullif(cast(venueseats as integer), 0) as venue_seats
    from bronze_venue

)

select * from final
