-- Events; venue_id is kept even where venue has no such id (a quirk of the real data, tested as a warning).
with

bronze_event as (

    select * from {{ ref('bronze_event') }}

),

final as (

    select
        cast(eventid as integer) as event_id,
        cast(venueid as integer) as venue_id,
        cast(catid as integer) as category_id,
        cast(dateid as integer) as date_id,
        trim(eventname) as event_name,
        cast(starttime as timestamp) as starts_at
    from bronze_event

)

select * from final
