with

bronze_category as (

    select * from {{ ref('bronze_category') }}

),

final as (

    select
        cast(catid as integer) as category_id,
        trim(catgroup) as category_group,
        trim(catname) as category_name,
        trim(catdesc) as category_description
    from bronze_category

)

select * from final
