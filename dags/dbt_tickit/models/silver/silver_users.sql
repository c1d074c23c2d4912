-- Users with snake_case names, trimmed strings and the like_* flags as nullable booleans (NULL = unknown).
with

bronze_users as (

    select * from {{ ref('bronze_users') }}

),

renamed as (

    select
        cast(userid as integer) as user_id,
        trim(username) as username,
        trim(firstname) as first_name,
        trim(lastname) as last_name,
        trim(city) as city,
        upper(trim(state)) as state,
        lower(trim(email)) as email,
        trim(phone) as phone,
        likesports as likes_sports,
        liketheatre as likes_theatre,
        likeconcerts as likes_concerts,
        likejazz as likes_jazz,
        likeclassical as likes_classical,
        likeopera as likes_opera,
        likerock as likes_rock,
        likevegas as likes_vegas,
        likebroadway as likes_broadway,
        likemusicals as likes_musicals
    from bronze_users

),

final as (

    select
        *,
        first_name || ' ' || last_name as full_name
    from renamed

)

select * from final
