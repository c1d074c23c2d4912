-- The marketplace takes 15% of every sale; rows that disagree are kept and reported, not fatal.
{{ config(severity='warn') }}

with

silver_sales as (

    select * from {{ ref('silver_sales') }}

),

final as (

    select
        sale_id,
        price_paid,
        commission
    from silver_sales
    where abs(commission - round(price_paid * 0.15, 2)) > 0.01

)

select * from final
