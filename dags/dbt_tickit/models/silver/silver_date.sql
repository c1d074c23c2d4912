-- The 2008 calendar; the file's day abbreviation is kept as stated, since it is off by a day.
with

bronze_date as (

    select * from {{ ref('bronze_date') }}

),

final as (

    select
        cast(dateid as integer) as date_id,
        trim(day) as day_abbreviation,
        trim(month) as month_abbreviation,
        cast(week as integer) as week_number,
        cast(trim(qtr) as integer) as quarter_number,
        cast(year as integer) as year_number,
        holiday as is_holiday,
        cast(caldate as date) as calendar_date
    from bronze_date

)

select * from final
