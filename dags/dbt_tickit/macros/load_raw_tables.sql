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
    --args '{table: sales}'`): to read what an engine will be sent, or to run it by hand. -#}
{% macro show_raw_load_sql(table) %}
    {%- for node in raw_sources() if node.name == table -%}
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

{% macro duckdb__raw_file_size(node) %}
    {%- set location = raw_location(node) -%}
    {%- set found = run_query("select count(*) from glob('" ~ location ~ "')").rows[0][0] -%}
    {%- if found == 0 -%}{{ return(none) }}{%- endif -%}
    {{ return(run_query("select size from read_blob('" ~ location ~ "')").rows[0][0]) }}
{% endmacro %}

{% macro postgres__raw_file_size(node) %}
    {{ return(run_query("select (pg_stat_file('" ~ raw_location(node) ~ "', true)).size").rows[0][0]) }}
{% endmacro %}

{#- On Redshift COPY itself fails on a missing S3 object, naming it; an empty one is caught by the
    reconciliation tests (no lines, no rows). -#}
{% macro default__raw_file_size(node) %}
    {{ return(1) }}
{% endmacro %}

{#- raw.quarantine and raw.load_audit start empty on every load, as every raw table is reloaded whole;
    the audit schema of stored test failures goes too, so it only ever shows this run's failures. -#}
{% macro raw_bookkeeping_sql() %}
    {%- set schema = raw_bookkeeping_relation('quarantine').schema -%}
    create schema if not exists {{ schema }};
    drop schema if exists {{ generate_schema_name('audit', none) }} cascade;
    drop table if exists {{ raw_bookkeeping_relation('quarantine') }};
    create table {{ raw_bookkeeping_relation('quarantine') }} (
        source_name varchar(32),
        file_name varchar(256),
        line_number bigint,
        raw_line varchar(65535),
        reason varchar(1024)
    );
    drop table if exists {{ raw_bookkeeping_relation('load_audit') }};
    create table {{ raw_bookkeeping_relation('load_audit') }} (
        source_name varchar(32),
        file_name varchar(256),
        lines_in_file bigint,
        rows_loaded bigint,
        rows_quarantined bigint,
        loaded_at timestamp
    )
{% endmacro %}

{% macro raw_bookkeeping_relation(name) %}
    {#- The graph is empty while dbt parses; the schema only matters once SQL runs. -#}
    {%- set schema = graph.sources['source.dbt_tickit.tickit_load.' ~ name].schema if execute else 'raw' -%}
    {{ return(api.Relation.create(database=target.database, schema=schema, identifier=name)) }}
{% endmacro %}

{#- Where an engine reads a file from: a local folder, or S3 for Redshift. -#}
{% macro raw_location(node) %}
    {{ return(adapter.dispatch('raw_location', 'dbt_tickit')(node)) }}
{% endmacro %}

{% macro default__raw_location(node) %}
    {{ return(raw_dir() ~ '/' ~ node.meta.file) }}
{% endmacro %}

{% macro redshift__raw_location(node) %}
    {{ return(raw_location_dir() ~ '/' ~ node.meta.file) }}
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

{% macro raw_scratch(node, what) %}
    {{ return('tickit_' ~ what ~ '_' ~ node.name) }}
{% endmacro %}

{#- The delimiter as an SQL expression every engine reads the same way (a tab is chr(9)). -#}
{% macro raw_delimiter_sql(node) %}
    {{ return("chr(9)" if node.meta.delimiter == "\t" else "'" ~ node.meta.delimiter ~ "'") }}
{% endmacro %}

{#- One row per line of the file (line_number, line) -> the line's fields typed, and `reason`, null
    when the line is good. Plain SQL apart from `raw_try_cast`, so DuckDB and PostgreSQL parse alike. -#}
{% macro raw_parse_sql(node, lines) %}
    {%- set columns = node.columns.values() | list -%}
    {%- set delimiter = raw_delimiter_sql(node) -%}
    {%- set header = columns | map(attribute='name') | join(node.meta.delimiter) -%}
    {%- set pk = node.meta.primary_key -%}
    with

    split as (

        select
            line_number,
            line,
            length(line) - length(replace(line, {{ delimiter }}, '')) + 1 as field_count,
            {%- for column in columns %}
            nullif(split_part(line, {{ delimiter }}, {{ loop.index }}), '') as {{ column.name }}__text{{ "," if not loop.last }}
            {%- endfor %}
        from {{ lines }}

    ),

    typed as (

        select
            *,
            {%- for column in columns %}
            {{ raw_try_cast(column.name ~ '__text', column.data_type, node.meta.time_format) }} as {{ column.name }}{{ "," if not loop.last }}
            {%- endfor %}
        from split

    ),

    judged as (

        select
            *,
            case
                when line is null or line = '' then 'empty line'
                when lower(line) = '{{ header | lower }}' then 'header line'
                when field_count <> {{ columns | length }}
                    then 'expected {{ columns | length }} fields, found ' || cast(field_count as varchar(12))
                when {{ pk }}__text is null then 'primary key {{ pk }} is empty'
                else nullif(concat_ws('; ',
                    {%- for column in columns %}
                    {{ raw_field_problem(column) }}{{ "," if not loop.last }}
                    {%- endfor %}
                ), '')
            end as parse_reason
        from typed

    ),

    {#- The first good line with a key wins; later lines with the same key are quarantined, so a key
        that appears twice is never counted twice downstream. -#}
    final as (

        select
            *,
            case
                when parse_reason is not null then parse_reason
                when line_number > first_line
                    then 'duplicate {{ pk }} ' || {{ pk }}__text || ' (first at line '
                        || cast(first_line as varchar(20)) || ')'
            end as reason
        from (
            select
                *,
                min(case when parse_reason is null then line_number end)
                    over (partition by {{ pk }}__text) as first_line
            from judged
        ) as keyed

    )

    select * from final
{% endmacro %}

{#- Why one field of a line does not fit its column, or null when it does. -#}
{% macro raw_field_problem(column) %}
    {%- set text = column.name ~ '__text' -%}
    {%- set type = column.data_type | lower -%}
    {%- set length = type.split('(')[1].rstrip(')') if type.startswith('char') or type.startswith('varchar') else none -%}
    {%- if length -%}
    case when length({{ text }}) > {{ length }}
        then '{{ column.name }}: ' || cast(length({{ text }}) as varchar(12)) || ' characters, at most {{ length }}' end
    {%- else -%}
    case when {{ text }} is not null and {{ column.name }} is null
        then '{{ column.name }}: ''' || {{ text }} || ''' is not a {{ type }}' end
    {%- endif -%}
{% endmacro %}

{#- Cast text to a column type, null when it does not fit (never an error: bad content is quarantined,
    it does not stop the load). -#}
{% macro raw_try_cast(text, data_type, time_format) %}
    {{ return(adapter.dispatch('raw_try_cast', 'dbt_tickit')(text, data_type | lower, time_format)) }}
{% endmacro %}

{% macro duckdb__raw_try_cast(text, data_type, time_format) %}
    {%- if data_type.startswith('char') or data_type.startswith('varchar') -%}
        {{ return(text) }}
    {%- elif data_type == 'timestamp' and time_format -%}
        {{ return("try_strptime(" ~ text ~ ", '" ~ strptime_format(time_format) ~ "')") }}
    {%- endif -%}
    {{ return("try_cast(" ~ text ~ " as " ~ data_type ~ ")") }}
{% endmacro %}

{#- PostgreSQL has no try_cast: small functions catch the cast error (created by the PostgreSQL load). -#}
{% macro postgres__raw_try_cast(text, data_type, time_format) %}
    {%- if data_type.startswith('char') or data_type.startswith('varchar') -%}
        {{ return(text) }}
    {%- endif -%}
    {{ return(postgres__raw_try_function(data_type) ~ "(" ~ text ~ ")") }}
{% endmacro %}

{% macro postgres__raw_try_function(data_type) %}
    {{ return("raw.tickit_try_" ~ data_type | replace('(', '_') | replace(',', '_') | replace(')', '') | replace(' ', '')) }}
{% endmacro %}

{#- DuckDB and PostgreSQL load alike: the file is split into lines by the engine itself, each line is
    parsed by `raw_parse_sql`, and the good rows, the quarantine and the audit are written from there.
    Lines are split from the file's bytes, not through a CSV reader, so no byte (a stray delimiter, a
    quote, a carriage return, an invalid UTF-8 sequence) can merge, split or drop a line unseen. -#}
{% macro load_lines_then_parse_sql(node) %}
    {%- set relation = raw_relation(node) -%}
    {%- set lines = raw_scratch(node, 'lines') -%}
    {%- set parsed = raw_scratch(node, 'parsed') -%}
    {%- set columns = node.columns.values() | map(attribute='name') | join(', ') -%}
    {{ raw_load_prelude(node) }}
    drop table if exists {{ lines }};
    create temp table {{ lines }} as
    {{ raw_lines_sql(node) }};
    drop table if exists {{ parsed }};
    create temp table {{ parsed }} as
    {{ raw_parse_sql(node, "(select line_number, line from " ~ lines ~ " where line is not null) as utf8_lines") }};
    drop table if exists {{ relation }};
    {{ raw_create_sql(node, relation) }};
    insert into {{ relation }} ({{ columns }})
    select {{ columns }} from {{ parsed }} where reason is null order by line_number;
    insert into {{ raw_bookkeeping_relation('quarantine') }}
    select '{{ node.name }}', '{{ node.meta.file }}', line_number, line, reason
    from {{ parsed }} where reason is not null;
    insert into {{ raw_bookkeeping_relation('quarantine') }}
    select '{{ node.name }}', '{{ node.meta.file }}', line_number, shown, 'not valid UTF-8 (bytes shown escaped)'
    from {{ lines }} where line is null;
    insert into {{ raw_bookkeeping_relation('load_audit') }}
    select
        '{{ node.name }}',
        '{{ node.meta.file }}',
        ({{ raw_line_count_sql(node) }}),
        (select count(*) from {{ relation }}),
        (select count(*) from {{ raw_bookkeeping_relation('quarantine') }} where source_name = '{{ node.name }}'),
        current_timestamp;
    drop table {{ lines }};
    drop table {{ parsed }}
{% endmacro %}

{% macro duckdb__raw_load_sql(node) %}
    {{ return(load_lines_then_parse_sql(node)) }}
{% endmacro %}

{% macro postgres__raw_load_sql(node) %}
    {{ return(load_lines_then_parse_sql(node)) }}
{% endmacro %}

{% macro raw_load_prelude(node) %}
    {{ return(adapter.dispatch('raw_load_prelude', 'dbt_tickit')(node)) }}
{% endmacro %}

{% macro default__raw_load_prelude(node) %}
{% endmacro %}

{#- One row per line of the file: line_number (1-based), line (null when the bytes are not UTF-8) and
    shown (the line with undecodable bytes escaped, for the quarantine). -#}
{% macro raw_lines_sql(node) %}
    {{ return(adapter.dispatch('raw_lines_sql', 'dbt_tickit')(node)) }}
{% endmacro %}

{#- The line count the reconciliation checks against: newline bytes, plus a last line without one,
    counted apart from the split that feeds the parse. -#}
{% macro raw_line_count_sql(node) %}
    {{ return(adapter.dispatch('raw_line_count_sql', 'dbt_tickit')(node)) }}
{% endmacro %}

{#- DuckDB: a file that is all UTF-8 (the usual case) is split as text, cut at each newline. Otherwise
    its bytes are split as hex digits, cut after each newline byte (0A, at an even offset, so a match
    never straddles two bytes), and each piece is turned back into bytes and decoded when it is UTF-8.
    The second way is ten times slower, so it only runs for a file that needs it. -#}
{% macro duckdb__raw_lines_sql(node) %}
    with

    file as (

        select
            content,
            size,
            try(decode(content)) as text
        from read_blob('{{ raw_location(node) }}')

    ),

    text_lines as (

        select
            unnest(lines) as piece,
            generate_subscripts(lines, 1) as line_number
        from (
            select string_split(case when right(text, 1) = chr(10) then left(text, -1) else text end, chr(10)) as lines
            from file
            where text is not null and size > 0
        ) as split

    ),

    byte_lines as (

        select
            unnest(chunks) as chunk,
            generate_subscripts(chunks, 1) as line_number
        from (
            select
                regexp_extract_all(
                    hex(content) || case when right(hex(content), 2) <> '0A' then '0A' else '' end,
                    '(?:[0-9A-F]{2})*?0A'
                ) as chunks
            from file
            where text is null
        ) as split

    ),

    decoded as (

        select
            line_number,
            unhex(case when right(chunk, 4) = '0D0A' then left(chunk, -4) else left(chunk, -2) end) as bytes
        from byte_lines

    ),

    final as (

        select
            line_number,
            case when right(piece, 1) = chr(13) then left(piece, -1) else piece end as line,
            null as shown
        from text_lines
        union all
        select
            line_number,
            try(decode(bytes)) as line,
            cast(bytes as varchar) as shown
        from decoded

    )

    select * from final
{% endmacro %}

{% macro duckdb__raw_line_count_sql(node) %}
    select
        case
            when size = 0 then 0
            when text is not null
                then length(text) - length(replace(text, chr(10), '')) + case when right(text, 1) <> chr(10) then 1 else 0 end
            else len(regexp_extract_all(hex(content), '(?:[0-9A-F]{2})*?0A'))
                + case when right(hex(content), 2) <> '0A' then 1 else 0 end
        end
    from (select content, size, try(decode(content)) as text from read_blob('{{ raw_location(node) }}')) as file
{% endmacro %}

{#- PostgreSQL reads the file server-side (as Redshift's COPY reads S3): the server must be able to read
    TICKIT_RAW_DIR (same machine; superuser or pg_read_server_files). Latin-1 maps every byte to one
    character, so the split never fails; each line is turned back into its bytes and decoded as UTF-8. -#}
{% macro postgres__raw_lines_sql(node) %}
    with

    file as (

        select convert_from(pg_read_binary_file('{{ raw_location(node) }}'), 'LATIN1') as text

    ),

    numbered as (

        select piece, line_number
        from file,
            string_to_table(case when right(text, 1) = E'\n' then left(text, -1) else text end, E'\n')
                with ordinality as lines (piece, line_number)
        where text <> ''

    ),

    final as (

        select
            line_number,
            convert_to(case when right(piece, 1) = E'\r' then left(piece, -1) else piece end, 'LATIN1') as bytes
        from numbered

    ),

    decoded as (

        select line_number, bytes, raw.tickit_utf8(bytes) as line from final

    )

    select line_number, line, case when line is null then raw.tickit_escaped(bytes) end as shown from decoded
{% endmacro %}

{% macro postgres__raw_line_count_sql(node) %}
    select length(text) - length(replace(text, E'\n', ''))
        + case when text <> '' and right(text, 1) <> E'\n' then 1 else 0 end
    from (select convert_from(pg_read_binary_file('{{ raw_location(node) }}'), 'LATIN1') as text) as file
{% endmacro %}

{#- The casts PostgreSQL lacks a "try" form of. An exception block costs a subtransaction only when
    it catches something, and bad lines are rare. -#}
{% macro postgres__raw_load_prelude(node) %}
    {%- set types = node.columns.values() | map(attribute='data_type') | map('lower') | unique | list -%}
    {%- for type in types if not type.startswith(('char', 'varchar')) %}
    create or replace function {{ postgres__raw_try_function(type) }}(value text) returns {{ type }}
    language plpgsql immutable as $$
    begin
        return value::{{ type }};
    exception when others then
        return null;
    end $$;
    {%- endfor %}
    create or replace function raw.tickit_utf8(value bytea) returns text
    language plpgsql immutable as $$
    begin
        return convert_from(value, 'UTF8');
    exception when others then
        return null;
    end $$;
    {#- The bytes of a line that is not UTF-8, written as DuckDB casts a blob to text (printable ASCII as
        itself, every other byte and the quotes and backslash as \xNN), so both engines quarantine the
        same text. Only called for such lines, which are rare. -#}
    create or replace function raw.tickit_escaped(value bytea) returns text
    language sql immutable as $$
        select coalesce(string_agg(
            case
                when byte between 32 and 126 and byte not in (34, 39, 92) then chr(byte)
                else '\x' || upper(lpad(to_hex(byte), 2, '0'))
            end, '' order by position), '')
        from generate_series(0, length(value) - 1) as position,
            lateral get_byte(value, position) as byte
    $$;
    set datestyle = 'ISO, MDY';
{% endmacro %}

{#- Redshift loads with COPY from S3 (the public redshift-downloads bucket by default), using the
    cluster's IAM role; the formats are the ones the Getting Started Guide gives. Lines COPY cannot
    load are not fatal (MAXERROR): Redshift records each in STL_LOAD_ERRORS with its line, text and
    reason, and they are copied from there into raw.quarantine. -#}
{% macro redshift__raw_load_sql(node) %}
    {%- set role = env_var('DBT_TICKIT_S3_IAM_ROLE_ARN', '') -%}
    {%- if role == '' -%}
        {{ exceptions.raise_compiler_error(
            "DBT_TICKIT_S3_IAM_ROLE_ARN is not set: Redshift needs an IAM role that may read "
            ~ raw_location(node) ~ " (the Airflow Variable tickit_source_iam_role_arn on MWAA).") }}
    {%- endif -%}
    {%- set relation = raw_relation(node) -%}
    drop table if exists {{ relation }};
    {{ raw_create_sql(node, relation) }};
    copy {{ relation }} from '{{ raw_location(node) }}'
        iam_role '{{ role }}'
        delimiter '{{ "\\t" if node.meta.delimiter == "\t" else node.meta.delimiter }}'
        {%- if node.meta.time_format %} timeformat '{{ node.meta.time_format }}'{% endif %}
        region '{{ env_var("DBT_TICKIT_S3_REGION", "us-east-1") }}'
        maxerror 100000;
    insert into {{ raw_bookkeeping_relation('quarantine') }}
    select '{{ node.name }}', '{{ node.meta.file }}', line_number, trim(raw_line), trim(err_reason)
    from stl_load_errors where query = pg_last_copy_id();
    insert into {{ raw_bookkeeping_relation('load_audit') }}
    select
        '{{ node.name }}',
        '{{ node.meta.file }}',
        (select count(*) from {{ relation }})
            + (select count(*) from stl_load_errors where query = pg_last_copy_id()),
        (select count(*) from {{ relation }}),
        (select count(*) from stl_load_errors where query = pg_last_copy_id()),
        getdate()
{% endmacro %}

{% macro default__raw_load_sql(node) %}
    {{ exceptions.raise_compiler_error(
        "load_raw_tables has no variant for the " ~ adapter.type() ~ " adapter; "
        ~ "add " ~ adapter.type() ~ "__raw_load_sql in macros/load_raw_tables.sql") }}
{% endmacro %}
