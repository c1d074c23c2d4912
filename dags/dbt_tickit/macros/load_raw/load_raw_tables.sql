{#- Load the seven raw tickit files into the `raw` schema, one table per file, typed as Redshift's DDL.
    What to load comes from the source YAML (files, delimiters, time formats, keys in `meta`), read
    through the graph, so adding a column means editing one file. Run with `dbt run-operation
    load_raw_tables`; the DAG's first task does exactly that.

    Nothing is lost on bad input: every line of a file ends up either in raw.<table> or in
    raw.quarantine with its file, line number, text and the reason, and raw.load_audit records how many
    lines the file had, counted by a separate read, so the bronze models' reconciliation tests can prove
    that lines = loaded + quarantined. Missing or empty files stop the load before anything is written.

    Each engine loads in its own way: `raw_load_sql` is dispatched per adapter and only builds the
    statements, so the SQL for Redshift can be compiled and checked offline, with no warehouse. -#}
{% macro load_raw_tables() %}
    {%- set nodes = raw_sources() -%}
    {%- do raw_preflight(nodes) -%}
    {%- do run_query(raw_bookkeeping_sql()) -%}
    {%- for node in nodes -%}
        {%- set relation = raw_relation(node) -%}
        {#- Said before loading: dbt cannot catch the engine's error, so this line names the file it is about. -#}
        {{ log("loading " ~ relation ~ " from " ~ raw_location(node), info=true) }}
        {%- do run_query(raw_load_sql(node)) -%}
        {%- set audit = run_query(
            "select lines_in_file, rows_loaded, rows_quarantined from " ~ raw_bookkeeping_relation('load_audit')
            ~ " where source_name = '" ~ node.name ~ "'").rows[0] -%}
        {{ log("loaded " ~ relation ~ ": " ~ audit[1] ~ " rows, " ~ audit[2] ~ " quarantined, of "
               ~ audit[0] ~ " lines in " ~ node.meta.file, info=true) }}
    {%- endfor -%}
{% endmacro %}

{#- Print, without running it, the SQL that loads one table (`dbt -q run-operation show_raw_load_sql
    --args '{table: sales}'`): to read what an engine will be sent, or to run it by hand. A list of tables
    prints one script per table, each between lines `-- load <table>` (one dbt start for all of them). -#}
{% macro show_raw_load_sql(table) %}
    {%- set tables = [table] if table is string else table -%}
    {%- for node in raw_sources() if node.name in tables -%}
        {%- if tables | length > 1 %}{{ print("-- load " ~ node.name) }}{% endif -%}
        {{ print(raw_bookkeeping_sql() ~ ";\n" ~ raw_load_sql(node)) }}
    {%- endfor -%}
{% endmacro %}

{% macro raw_load_sql(node) %}
    {{ return(adapter.dispatch('raw_load_sql', 'dbt_tickit')(node)) }}
{% endmacro %}

{#- Every file is checked before any table is touched: a missing or empty file must not leave a
    half-loaded warehouse behind for the models to build on. -#}
{% macro raw_preflight(nodes) %}
    {%- set problems = [] -%}
    {%- for node in nodes -%}
        {%- set size = raw_file_size(node) -%}
        {%- if size is none -%}
            {%- do problems.append(node.meta.file ~ " is missing (table " ~ node.name ~ ")") -%}
        {%- elif size == 0 -%}
            {%- do problems.append(node.meta.file ~ " is empty (table " ~ node.name ~ ")") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if problems -%}
        {{ exceptions.raise_compiler_error(
            "raw files not loadable in " ~ raw_location_dir() ~ ": " ~ problems | join("; ")
            ~ ". Nothing was loaded. Fetch the data again (`tickit data fetch`) or point TICKIT_RAW_DIR at a "
            ~ "folder holding all seven files.") }}
    {%- endif -%}
{% endmacro %}

{#- The size of a raw file in bytes, or none when it does not exist. -#}
{% macro raw_file_size(node) %}
    {{ return(adapter.dispatch('raw_file_size', 'dbt_tickit')(node)) }}
{% endmacro %}


{#- On Redshift COPY itself fails on a missing S3 object, naming it; an empty one is caught by the
    reconciliation tests (no lines, no rows). -#}
{% macro default__raw_file_size(node) %}
    {{ return(1) }}
{% endmacro %}

{#- raw.quarantine and raw.load_audit start empty on every load, as every raw table is reloaded whole;
    the stored failures of this project's tests go too, so they only ever show this run's failures.
    Only those tables, each by its name from the graph: never the schema, which may hold what another
    project or a person put there. -#}
{% macro raw_bookkeeping_sql() %}
    create schema if not exists {{ raw_bookkeeping_relation('quarantine').schema }};
    {%- for relation in stored_failure_relations() %}
    drop table if exists {{ relation }};
    {%- endfor %}
    drop table if exists {{ raw_bookkeeping_relation('quarantine') }};
    create table {{ raw_bookkeeping_relation('quarantine') }} (
        source_name varchar(32),
        file_name varchar(256),
        line_number bigint,
        raw_line {{ raw_long_text_type(65535) }},
        reason {{ raw_long_text_type(1024) }}
    );
    drop table if exists {{ raw_bookkeeping_relation('load_audit') }};
    create table {{ raw_bookkeeping_relation('load_audit') }} (
        source_name varchar(32),
        file_name varchar(256),
        lines_in_file bigint,
        rows_loaded bigint,
        rows_quarantined bigint,
        loaded_at timestamp,
        fingerprint varchar(64)
    );
    {#- Not emptied: which dataset each incremental model holds outlives loads (macros/dataset_identity.sql). #}
    create table if not exists {{ raw_bookkeeping_relation('built_from') }} (
        model_name varchar(256),
        dataset_identity varchar(64),
        built_at timestamp
    )
{% endmacro %}

{#- The type of the quarantine's text columns: as long as Redshift allows (its error log holds at most
    1024 characters of a line, so that always fits there); a line or a reason as long as it comes where
    the engine has no such limit, so quarantining a long line never fails. -#}
{% macro raw_long_text_type(length) %}
    {{ return(adapter.dispatch('raw_long_text_type', 'dbt_tickit')(length)) }}
{% endmacro %}

{% macro default__raw_long_text_type(length) %}
    {{ return('varchar(' ~ length ~ ')') }}
{% endmacro %}

{#- The tables this project's data tests store their failing rows in (`store_failures`). -#}
{% macro stored_failure_relations() %}
    {%- set relations = [] -%}
    {%- for node in graph.nodes.values() if execute and node.resource_type == 'test'
        and node.package_name == project_name and node.config.store_failures -%}
        {%- do relations.append(
            api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) -%}
    {%- endfor -%}
    {{ return(relations | sort(attribute='identifier')) }}
{% endmacro %}

{% macro raw_bookkeeping_relation(name) %}
    {#- The graph is empty while dbt parses; the schema only matters once SQL runs. -#}
    {%- set schema = graph.sources['source.dbt_tickit.tickit_load.' ~ name].schema if execute else 'raw' -%}
    {{ return(api.Relation.create(database=target.database, schema=schema, identifier=name)) }}
{% endmacro %}

{#- The schema of the raw tables, the quarantine, the load audit and the load's helper functions: `raw`, or
    "<prefix>_raw" with the deployment's TICKIT_SCHEMA_PREFIX (the sources' YAML names it). -#}
{% macro raw_schema() %}
    {{ return(raw_bookkeeping_relation('quarantine').schema) }}
{% endmacro %}

{#- Where an engine reads a file from: a local folder, or S3 for Redshift. -#}
{% macro raw_location(node) %}
    {{ return(adapter.dispatch('raw_location', 'dbt_tickit')(node)) }}
{% endmacro %}

{% macro default__raw_location(node) %}
    {{ return(raw_dir() ~ '/' ~ node.meta.file) }}
{% endmacro %}

{#- The file's location as an SQL literal naming exactly that file. -#}
{% macro raw_location_literal(node) %}
    {{ return(adapter.dispatch('raw_location_literal', 'dbt_tickit')(node)) }}
{% endmacro %}

{% macro default__raw_location_literal(node) %}
    {{ return(sql_literal(raw_location(node))) }}
{% endmacro %}


{% macro raw_location_dir() %}
    {%- if adapter.type() == 'redshift' -%}
        {{ return(env_var('DBT_TICKIT_S3_URI', 's3://redshift-downloads/tickit/').rstrip('/')) }}
    {%- endif -%}
    {{ return(raw_dir()) }}
{% endmacro %}

{% macro raw_sources() %}
    {%- set tables = [] -%}
    {%- for node in graph.sources.values() if node.source_name == 'tickit_raw' -%}
        {%- do tables.append(node) -%}
    {%- endfor -%}
    {{ return(tables | sort(attribute='name')) }}
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
    {%- set columns = [] -%}
    {%- for column in node.columns.values() -%}
        {%- do columns.append(adapter.quote(column.name) ~ ' ' ~ column.data_type) -%}
    {%- endfor %}
    create table {{ relation }} ({{ columns | join(', ') }})
{% endmacro %}

{% macro raw_relation(node) %}
    {{ return(api.Relation.create(database=target.database, schema=node.schema, identifier=node.name)) }}
{% endmacro %}

{% macro raw_scratch(node, what) %}
    {{ return('tickit_' ~ what ~ '_' ~ node.name) }}
{% endmacro %}

{% macro default__raw_load_sql(node) %}
    {{ exceptions.raise_compiler_error(
        "load_raw_tables has no variant for the " ~ adapter.type() ~ " adapter; "
        ~ "add " ~ adapter.type() ~ "__raw_load_sql in macros/load_raw/<engine>.sql") }}
{% endmacro %}
