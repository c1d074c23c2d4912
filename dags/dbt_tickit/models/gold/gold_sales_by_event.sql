-- Sales per event: tickets, revenue and commission, with events that sold nothing shown as zero.
with

silver_event as (

    select * from {{ ref('silver_event') }}

),

silver_sales as (

    select * from {{ ref('silver_sales') }}

),

silver_category as (

    select * from {{ ref('silver_category') }}

),

sales_per_event as (

    select
        event_id,
        count(*) as sales_count,
        sum(tickets_sold) as tickets_sold,
        sum(price_paid) as total_revenue,
        sum(commission) as total_commission
    from silver_sales
    group by event_id

),

final as (

    select
        silver_event.event_id,
        silver_event.event_name,
        silver_category.category_group,
        silver_category.category_name,
        silver_event.venue_id,
        silver_event.starts_at,
        coalesce(sales_per_event.sales_count, 0) as sales_count,
        coalesce(sales_per_event.tickets_sold, 0) as tickets_sold,
        -- Typed explicitly: a bare 0 would make the column numeric without a scale on PostgreSQL/Redshift.
        cast(coalesce(sales_per_event.total_revenue, 0) as decimal(18, 2)) as total_revenue,
        cast(coalesce(sales_per_event.total_commission, 0) as decimal(18, 2)) as total_commission
    from silver_event
    left join sales_per_event
        on silver_event.event_id = sales_per_event.event_id
    left join silver_category
        on silver_event.category_id = silver_category.category_id

)

select * from final
