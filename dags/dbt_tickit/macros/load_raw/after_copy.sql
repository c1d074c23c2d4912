{#- What an engine that loads with COPY (Redshift) does after it: plain SQL, so it runs the same on
    PostgreSQL, where the tests run it against the damaged files the local engines load.

    COPY accepts two kinds of line the local parse refuses: an empty key (loaded as null) and a key
    already seen. Both are moved to raw.quarantine here. A loaded row does not know its line number,
    and COPY keeps no order, so which copy of a duplicated key came first cannot be told: every copy
    is quarantined and none is loaded (locally the first line wins). Either way a key is never
    counted twice.

    Run again on the same state (a retried script), it leaves the same rows: nothing is left to move, and
    the file's audit row is replaced, not added.

    Then the audit: lines_in_file comes from `lines`, a table holding one row per line of the file,
    filled apart from the typed load, so that lines = loaded + quarantined is a check of the load,
    not a restatement of it; the file's fingerprint too (macros/dataset_identity.sql). -#}
{% macro raw_after_copy_sql(node, lines) %}
    {%- set relation = raw_relation(node) -%}
    {%- set quarantine = raw_bookkeeping_relation('quarantine') -%}
    {%- set pk = node.meta.primary_key -%}
    {%- set key = adapter.quote(pk) -%}
    insert into {{ quarantine }}
    select
        '{{ node.name }}',
        '{{ node.meta.file }}',
        cast(null as bigint),
        cast(null as varchar),
        'primary key {{ pk }} is empty'
    from {{ relation }}
    where {{ key }} is null;
    delete from {{ relation }} where {{ key }} is null;
    insert into {{ quarantine }}
    select
        '{{ node.name }}',
        '{{ node.meta.file }}',
        cast(null as bigint),
        cast(null as varchar),
        'duplicate {{ pk }} ' || cast(loaded.{{ key }} as varchar(20)) || ' ('
        || cast(repeated.copies as varchar(12)) || ' lines; which came first is unknown, all are quarantined)'
    from {{ relation }} as loaded
    inner join (
        select
            {{ key }},
            count(*) as copies
        from {{ relation }}
        group by {{ key }}
        having count(*) > 1
    ) as repeated on loaded.{{ key }} = repeated.{{ key }};
    delete from {{ relation }}
    where {{ key }} in (
        select {{ key }} from {{ relation }}
        group by {{ key }}
        having count(*) > 1
    );
    delete from {{ raw_bookkeeping_relation('load_audit') }} where source_name = '{{ node.name }}';
    insert into {{ raw_bookkeeping_relation('load_audit') }}
    select
        '{{ node.name }}',
        '{{ node.meta.file }}',
        (select count(*) from {{ lines }}),
        (select count(*) from {{ relation }}),
        (select count(*) from {{ quarantine }} where source_name = '{{ node.name }}'),
        {{ raw_now() }},
        ({{ raw_lines_fingerprint_sql(lines, 'line') }})
{% endmacro %}

{% macro raw_now() %}
    {{ return(adapter.dispatch('raw_now', 'dbt_tickit')()) }}
{% endmacro %}

{% macro default__raw_now() %}
    {{ return('current_timestamp') }}
{% endmacro %}
