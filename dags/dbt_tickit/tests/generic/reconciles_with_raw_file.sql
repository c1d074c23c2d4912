{#- Fails unless every line of the model's raw file is accounted for: lines in the file (counted by
    the load step with a read independent of the parse) = rows in this model + lines quarantined.
    A missing audit row fails too: a table nobody loaded cannot reconcile. The two load tables are named
    directly, not through source(): a test with parents beyond its model would not stop the model's
    downstream in dbt build (dbt only blocks nodes that descend from every parent of a failed test). -#}
{% test reconciles_with_raw_file(model, source_name) %}

with

load_audit as (

    select * from {{ raw_bookkeeping_relation('load_audit') }}
    where source_name = '{{ source_name }}'

),

quarantine as (

    select * from {{ raw_bookkeeping_relation('quarantine') }}
    where source_name = '{{ source_name }}'

),

model_rows as (

    select count(*) as rows_in_model from {{ model }}

),

quarantined as (

    select count(*) as rows_quarantined from quarantine

),

final as (

    select
        load_audit.file_name,
        load_audit.lines_in_file,
        model_rows.rows_in_model,
        quarantined.rows_quarantined
    from model_rows
    cross join quarantined
    left join load_audit on 1 = 1

)

select * from final
where
    lines_in_file is null
    or lines_in_file <> rows_in_model + rows_quarantined

{% endtest %}
