{#- Load the seven raw tickit files into the `raw` schema, one table per file, typed as Redshift's DDL.
    What to load comes from the source YAML (files, delimiters, time formats in `meta`), read through
    the graph, so adding a column means editing one file. Run with `dbt run-operation load_raw_tables`;
    the DAG's first task does exactly that. Each engine loads in its own way: `raw_load_sql` is dispatched
    per adapter and only builds the statements, so the SQL for Redshift can be compiled and checked
    offline (`dbt compile --inline`), with no warehouse to run it on. -#}
{% macro load_raw_tables() %}
    {%- for node in raw_sources() -%}
        {%- set relation = raw_relation(node) -%}
        {#- Said before loading: dbt cannot catch the engine's error, so this line names the file it is about. -#}
        {{ log("loading " ~ relation ~ " from " ~ raw_location(node), info=true) }}
        {%- do run_query(raw_load_sql(node)) -%}
        {%- set count = run_query("select count(*) from " ~ relation).columns[0].values()[0] -%}
        {{ log("loaded " ~ relation ~ ": " ~ count ~ " rows from " ~ node.meta.file, info=true) }}
    {%- endfor -%}
{% endmacro %}

{% macro raw_load_sql(node) %}
    {{ return(adapter.dispatch('raw_load_sql', 'dbt_tickit')(node)) }}
{% endmacro %}

{#- Where an engine reads a file from: a local folder, or S3 for Redshift. -#}
{% macro raw_location(node) %}
    {{ return(adapter.dispatch('raw_location', 'dbt_tickit')(node)) }}
{% endmacro %}

{% macro default__raw_location(node) %}
    {{ return(raw_dir() ~ '/' ~ node.meta.file) }}
{% endmacro %}

{% macro redshift__raw_location(node) %}
    {%- set prefix = env_var('DBT_TICKIT_S3_URI', 's3://redshift-downloads/tickit/').rstrip('/') -%}
    {{ return(prefix ~ '/' ~ node.meta.file) }}
{% endmacro %}

{% macro raw_sources() %}
    {%- set tables = [] -%}
    {%- for node in graph.sources.values() if node.source_name == 'tickit_raw' -%}
        {%- do tables.append(node) -%}
    {%- endfor -%}
    {{ return(tables | sort(attribute='name')) }}
{% endmacro %}

{#- Redshift's COPY time notation (YYYY-MM-DD HH:MI:SS) in strptime notation. -#}
{% macro strptime_format(redshift_format) %}
    {#- A namespace, because a plain `set` inside a Jinja loop does not outlive the loop. -#}
    {%- set ns = namespace(fmt=redshift_format) -%}
    {%- for token, directive in [('YYYY', '%Y'), ('MM', '%m'), ('DD', '%d'), ('HH', '%H'), ('MI', '%M'), ('SS', '%S')] -%}
        {%- set ns.fmt = ns.fmt.replace(token, directive) -%}
    {%- endfor -%}
    {{ return(ns.fmt) }}
{% endmacro %}

{% macro raw_dir() %}
    {%- set folder = env_var('TICKIT_RAW_DIR', '') -%}
    {%- if folder == '' -%}
        {{ exceptions.raise_compiler_error(
            "TICKIT_RAW_DIR is not set: point it at the folder holding the seven tickit files "
            ~ "(`tickit data fetch` or `tickit data synth` print it), or run `tickit run`.") }}
    {%- endif -%}
    {{ return(folder.rstrip('/')) }}
{% endmacro %}

{% macro raw_create_sql(node, relation) %}
    create table {{ relation }} (
        {%- for column in node.columns.values() %}
        {{ adapter.quote(column.name) }} {{ column.data_type }}{{ "," if not loop.last }}
        {%- endfor %}
    )
{% endmacro %}

{% macro raw_relation(node) %}
    {{ return(api.Relation.create(database=target.database, schema=node.schema, identifier=node.name)) }}
{% endmacro %}

{#- DuckDB reads the local files directly; empty fields become NULL, TRUE/FALSE become booleans. -#}
{% macro duckdb__raw_load_sql(node) %}
    {%- set meta = node.meta -%}
    {%- set columns = [] -%}
    {%- for column in node.columns.values() -%}
        {%- set type = column.data_type | lower -%}
        {%- if type.startswith('char') or type.startswith('varchar') -%}{%- set type = 'varchar' -%}{%- endif -%}
        {%- do columns.append("'" ~ column.name ~ "': '" ~ type ~ "'") -%}
    {%- endfor -%}
    {%- set relation = raw_relation(node) -%}
    create schema if not exists {{ relation.schema }};
    create or replace table {{ relation }} as
    select * from read_csv(
        '{{ raw_location(node) }}',
        delim = '{{ "\t" if meta.delimiter == "\t" else meta.delimiter }}',
        header = false,
        auto_detect = false,
        quote = '',
        escape = '',
        columns = { {{ columns | join(', ') }} },
        dateformat = '%Y-%m-%d'
        {%- if meta.time_format %},
        timestampformat = '{{ strptime_format(meta.time_format) }}'
        {%- endif %}
    )
{% endmacro %}

{#- PostgreSQL reads the files server-side with COPY, as Redshift does from S3; the server must be
    able to read TICKIT_RAW_DIR (same machine, superuser or pg_read_server_files). -#}
{% macro postgres__raw_load_sql(node) %}
    {%- set relation = raw_relation(node) -%}
    create schema if not exists {{ relation.schema }};
    drop table if exists {{ relation }};
    {{ raw_create_sql(node, relation) }};
    set datestyle = 'ISO, MDY';
    copy {{ relation }} from '{{ raw_location(node) }}'
        with (format text, delimiter E'{{ "\\t" if node.meta.delimiter == "\t" else node.meta.delimiter }}', null '')
{% endmacro %}

{#- Redshift loads with COPY from S3 (the public redshift-downloads bucket by default), using the
    cluster's IAM role; the formats are the ones the Getting Started Guide gives. -#}
{% macro redshift__raw_load_sql(node) %}
    {%- set role = env_var('DBT_TICKIT_S3_IAM_ROLE_ARN', '') -%}
    {%- if role == '' -%}
        {{ exceptions.raise_compiler_error(
            "DBT_TICKIT_S3_IAM_ROLE_ARN is not set: Redshift needs an IAM role that may read "
            ~ raw_location(node) ~ " (the Airflow Variable tickit_source_iam_role_arn on MWAA).") }}
    {%- endif -%}
    {%- set relation = raw_relation(node) -%}
    create schema if not exists {{ relation.schema }};
    drop table if exists {{ relation }};
    {{ raw_create_sql(node, relation) }};
    copy {{ relation }} from '{{ raw_location(node) }}'
        iam_role '{{ role }}'
        delimiter '{{ "\\t" if node.meta.delimiter == "\t" else node.meta.delimiter }}'
        {%- if node.meta.time_format %} timeformat '{{ node.meta.time_format }}'{% endif %}
        region '{{ env_var("DBT_TICKIT_S3_REGION", "us-east-1") }}'
{% endmacro %}

{% macro default__raw_load_sql(node) %}
    {{ exceptions.raise_compiler_error(
        "load_raw_tables has no variant for the " ~ adapter.type() ~ " adapter; "
        ~ "add " ~ adapter.type() ~ "__raw_load_sql in macros/load_raw_tables.sql") }}
{% endmacro %}
