-- Which venue makes the most money: revenue from every sale of every event held there.
-- Events whose venue_id is missing from venue keep their revenue under a NULL venue name, so the
-- total equals the sum of all sales (nothing is dropped by the quirk of the real data).
with

silver_sales as (

    select * from {{ ref('silver_sales') }}

),

silver_event as (

    select * from {{ ref('silver_event') }}

),

silver_venue as (

    select * from {{ ref('silver_venue') }}

),

sales_per_venue as (

    select
        silver_event.venue_id,
        count(distinct silver_sales.event_id) as events_with_sales,
        count(*) as sales_count,
        sum(silver_sales.tickets_sold) as tickets_sold,
        sum(silver_sales.price_paid) as total_revenue,
        sum(silver_sales.commission) as total_commission
    from silver_sales
    inner join silver_event
        on silver_sales.event_id = silver_event.event_id
    group by silver_event.venue_id

),

final as (

    select
        sales_per_venue.venue_id,
        silver_venue.venue_name,
        silver_venue.venue_city,
        silver_venue.venue_state,
        sales_per_venue.events_with_sales,
        sales_per_venue.sales_count,
        sales_per_venue.tickets_sold,
        sales_per_venue.total_revenue,
        sales_per_venue.total_commission,
        silver_venue.venue_id is not null as is_known_venue,
        rank() over (order by sales_per_venue.total_revenue desc) as revenue_rank
    from sales_per_venue
    left join silver_venue
        on sales_per_venue.venue_id = silver_venue.venue_id

)

select * from final
