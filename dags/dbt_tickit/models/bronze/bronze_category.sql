-- One-for-one copy of raw.category: same columns, same rows, no business logic.
with

source as (

    select * from {{ source('tickit_raw', 'category') }}

),

final as (

    select
        catid,
        catgroup,
        catname,
        catdesc
    from source

)

select * from final
