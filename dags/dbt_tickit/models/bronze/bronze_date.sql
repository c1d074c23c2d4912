-- One-for-one copy of raw.date: same columns, same rows, no business logic.
with

source as (

    select * from {{ source('tickit_raw', 'date') }}

),

final as (

    select
        dateid,
        caldate,
        day,
        week,
        month,
        qtr,
        year,
        holiday
    from source

)

select * from final
