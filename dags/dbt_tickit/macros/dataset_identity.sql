{#- One dataset per warehouse (docs/decisions/033-one-dataset-per-warehouse.md, docs/when-the-data-changes.md).

    An incremental model keeps the rows it built before and replaces only the keys (and, on a scheduled run,
    the day) it builds now. Built on other raw files than last time, it would hold a mix of two datasets:
    the other dataset's rows beside the new ones, silently when the two share key ranges. So the load
    records what it loaded (a fingerprint per file in raw.load_audit), each incremental model records the
    dataset it was built from (raw.built_from), and a model whose dataset is no longer the loaded one is
    rebuilt from all the data, as `--full-refresh` would rebuild it.

    All of it happens inside dbt, in the warehouse: it holds wherever dbt runs (the DAG locally and on MWAA,
    `tickit dbt build`, plain dbt), with no process of ours to remember anything in between. -#}

{#- The fingerprint of a file's lines, as text: how many there are and the sum of a 60-bit piece of each
    line's md5. The sum does not depend on the order the engine reads the lines in; both numbers are the
    same on DuckDB and PostgreSQL for the same bytes (tested). `text` is the column holding a line. -#}
{% macro raw_lines_fingerprint_sql(lines, text) %}
    {{ return(adapter.dispatch('raw_lines_fingerprint_sql', 'dbt_tickit')(lines, text)) }}
{% endmacro %}

{% macro duckdb__raw_lines_fingerprint_sql(lines, text) %}
    select
        cast(count(*) as varchar) || ':'
        || cast(coalesce(sum(cast('0x' || left(md5({{ text }}), 15) as bigint)), 0) as varchar)
    from {{ lines }}
{% endmacro %}

{% macro postgres__raw_lines_fingerprint_sql(lines, text) %}
    select
        cast(count(*) as varchar) || ':'
        || cast(coalesce(sum(cast(cast('x' || left(md5({{ text }}), 15) as bit(60)) as bigint)), 0) as varchar)
    from {{ lines }}
{% endmacro %}

{% macro redshift__raw_lines_fingerprint_sql(lines, text) %}
    select
        cast(count(*) as varchar) || ':'
        || cast(coalesce(sum(cast(strtol(left(md5({{ text }}), 15), 16) as decimal(38, 0))), 0) as varchar)
    from {{ lines }}
{% endmacro %}

{#- The loaded dataset's identity: a digest of every file's name and fingerprint in raw.load_audit; none when
    no load recorded fingerprints (no load yet, or one by a version before them). -#}
{% macro raw_dataset_identity() %}
    {%- set audit = raw_bookkeeping_relation('load_audit') -%}
    {%- if adapter.get_relation(database=audit.database, schema=audit.schema, identifier=audit.identifier) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(audit) | map(attribute='name') | map('lower') | list -%}
    {%- if 'fingerprint' not in columns -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set rows = run_query(
        "select source_name, file_name, fingerprint from " ~ audit ~ " order by source_name").rows -%}
    {%- set parts = [] -%}
    {%- for row in rows if row[2] is not none -%}
        {%- do parts.append(row[0] ~ '=' ~ row[1] ~ '@' ~ row[2]) -%}
    {%- endfor -%}
    {%- if parts | length == 0 or parts | length < rows | length -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(local_md5(parts | join(';'))) }}
{% endmacro %}

{#- The identity of the dataset the current model was last built from, or none. -#}
{% macro dataset_built_from() %}
    {%- set built_from = raw_bookkeeping_relation('built_from') -%}
    {%- if adapter.get_relation(
        database=built_from.database, schema=built_from.schema, identifier=built_from.identifier) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set rows = run_query(
        "select dataset_identity from " ~ built_from ~ " where model_name = " ~ sql_literal(this.identifier)).rows -%}
    {{ return(rows[0][0] if rows else none) }}
{% endmacro %}

{#- Whether the current incremental model holds rows of another dataset than the loaded one, so it must be
    rebuilt from all the data. False when dbt builds it from scratch anyway (first build, --full-refresh).
    An unknown identity on either side counts as a change: a needless rebuild costs time, a mix is wrong. -#}
{% macro dataset_changed() %}
    {%- if not execute or not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set loaded = raw_dataset_identity() -%}
    {{ return(loaded is none or dataset_built_from() != loaded) }}
{% endmacro %}

{#- Pre-hook of an incremental model: when the dataset changed, empty the table in the build's own transaction
    (the model's SQL then selects all the data: macros/data_interval.sql), so the build leaves what a full
    refresh would. Said in one line, naming both datasets. -#}
{% macro rebuild_if_dataset_changed() %}
    {%- if dataset_changed() -%}
        {%- set built = dataset_built_from() -%}
        {%- set loaded = raw_dataset_identity() -%}
        {{ log(this.identifier ~ ": the raw files changed since it was built (built from dataset "
               ~ (built[:12] if built else 'unknown') ~ ", loaded now "
               ~ (loaded[:12] if loaded else 'unknown') ~ "): rebuilding it from all the data, as --full-refresh would",
               info=true) }}
        delete from {{ this }}
    {%- endif -%}
{% endmacro %}

{#- Post-hook of an incremental model: remember which dataset it now holds (one row per model). The load
    creates the table (two models' hooks creating it at once conflict on DuckDB); without it, or without a
    known identity, nothing is recorded and the next build rebuilds. -#}
{% macro record_dataset_built_from() %}
    {%- set built_from = raw_bookkeeping_relation('built_from') -%}
    {%- if execute and adapter.get_relation(
        database=built_from.database, schema=built_from.schema, identifier=built_from.identifier) is not none -%}
        {%- set loaded = raw_dataset_identity() -%}
        delete from {{ built_from }} where model_name = {{ sql_literal(this.identifier) }}
        {%- if loaded is not none %};
        insert into {{ built_from }}
        select {{ sql_literal(this.identifier) }}, {{ sql_literal(loaded) }}, {{ raw_now() }}
        {%- endif %}
    {%- endif -%}
{% endmacro %}
