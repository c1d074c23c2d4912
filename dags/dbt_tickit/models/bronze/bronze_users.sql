-- One-for-one copy of raw.users: same columns, same rows, no business logic.
with

source as (

    select * from {{ source('tickit_raw', 'users') }}

),

final as (

    select
        userid,
        username,
        firstname,
        lastname,
        city,
        state,
        email,
        phone,
        likesports,
        liketheatre,
        likeconcerts,
        likejazz,
        likeclassical,
        likeopera,
        likerock,
        likevegas,
        likebroadway,
        likemusicals
    from source

)

select * from final
