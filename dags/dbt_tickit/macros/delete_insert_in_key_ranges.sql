{#- DuckDB: the rows an incremental run replaces are deleted in ranges of their key, at most
    `delete_insert_rows_per_delete` keys at a time, then the new rows inserted, in the same transaction.
    dbt-duckdb deletes them in one `key in (select key from <new rows>)`, whose hash table DuckDB cannot spill:
    at scale 100 (19 M listings, 17 M sales) that one delete ran out of memory within 512 MiB, where the same
    rows deleted in ranges of 4.8 M keys needed less than 256 MiB, and took no longer
    (docs/decisions/043-a-run-within-2-gib.md). The same rows are deleted: a range bounds both sides, and a null
    key is matched by neither. A key that is not a single whole number goes dbt-duckdb's own way. -#}
{% macro duckdb__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}
    {%- set ranges = duckdb_delete_key_ranges(source, unique_key) -%}
    {%- if ranges is none -%}
        {{ return(dbt.duckdb__get_delete_insert_merge_sql(
            target, source, unique_key, dest_columns, incremental_predicates
        )) }}
    {%- endif -%}
    {%- set dest_cols_csv = get_quoted_csv(dest_columns | map(attribute="name")) -%}
    {% for low, high in ranges %}
        delete from {{ target }}
        where {{ unique_key }} between {{ low }} and {{ high }}
            and {{ unique_key }} in (
                select {{ unique_key }} from {{ source }}
                where {{ unique_key }} between {{ low }} and {{ high }}
            )
            {%- for predicate in incremental_predicates or [] %}
            and {{ predicate }}
            {%- endfor %};
    {% endfor %}
    insert into {{ target }} ({{ dest_cols_csv }})
    (
        select {{ dest_cols_csv }}
        from {{ source }}
    )
{%- endmacro %}

{#- The ranges of whole-number keys the new rows hold, each of about `delete_insert_rows_per_delete` keys when
    the keys are dense (tickit's ids are); none (dbt-duckdb's one delete) for a key of several columns or of
    another type. -#}
{% macro duckdb_delete_key_ranges(source, unique_key) %}
    {%- if unique_key is not string -%}{{ return(none) }}{%- endif -%}
    {%- set found = run_query(
        "select typeof(min(" ~ unique_key ~ ")), min(" ~ unique_key ~ "), max(" ~ unique_key ~ "), count("
        ~ unique_key ~ ") from " ~ source
    ).rows[0] -%}
    {%- set kind, low, high, keys = found[0], found[1], found[2], found[3] -%}
    {%- if keys == 0 -%}{{ return([]) }}{%- endif -%}
    {%- if kind not in ('TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set per_delete = var('delete_insert_rows_per_delete', 2000000) | int -%}
    {%- set pieces = ((keys + per_delete - 1) // per_delete) -%}
    {%- set width = ((high - low + 1 + pieces - 1) // pieces) -%}
    {%- set ranges = [] -%}
    {%- for piece in range(pieces) -%}
        {%- set start = low + piece * width -%}
        {%- if start <= high -%}
            {%- do ranges.append((start, [start + width - 1, high] | min)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(ranges) }}
{% endmacro %}
