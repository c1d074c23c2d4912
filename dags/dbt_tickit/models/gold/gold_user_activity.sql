-- Customers (users who bought at least once) ranked by what they spent; rank 1 spent the most.
with

silver_sales as (

    select * from {{ ref('silver_sales') }}

),

silver_users as (

    select * from {{ ref('silver_users') }}

),

purchases_per_buyer as (

    select
        buyer_id,
        count(*) as purchases_count,
        sum(tickets_sold) as tickets_bought,
        sum(price_paid) as total_spent,
        min(sold_at) as first_purchase_at,
        max(sold_at) as last_purchase_at
    from silver_sales
    group by buyer_id

),

final as (

    select
        purchases_per_buyer.buyer_id as user_id,
        silver_users.username,
        silver_users.full_name,
        silver_users.city,
        silver_users.state,
        purchases_per_buyer.purchases_count,
        purchases_per_buyer.tickets_bought,
        purchases_per_buyer.total_spent,
        purchases_per_buyer.first_purchase_at,
        purchases_per_buyer.last_purchase_at,
        rank() over (order by purchases_per_buyer.total_spent desc) as spend_rank
    from purchases_per_buyer
    left join silver_users
        on purchases_per_buyer.buyer_id = silver_users.user_id

)

select * from final
