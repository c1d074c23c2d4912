{#- The parse DuckDB and PostgreSQL share: each engine splits a file into lines its own way
    (`raw_lines_sql`, in its own file), and everything after that is the same SQL. -#}
{#- The delimiter as an SQL expression every engine reads the same way (a tab is chr(9)). -#}
{% macro raw_delimiter_sql(node) %}
    {{ return("chr(9)" if node.meta.delimiter == "\t" else "'" ~ node.meta.delimiter ~ "'") }}
{% endmacro %}

{#- One row per line of the file (line_number, line) -> the line's fields typed, and `reason`, null
    when the line is good. Plain SQL apart from the few spellings `values.sql` dispatches, so DuckDB and
    PostgreSQL parse alike. -#}
{% macro raw_parse_sql(node, lines) %}
    {%- set columns = node.columns.values() | list -%}
    {%- set header = columns | map(attribute='name') | join(node.meta.delimiter) -%}
    {%- set pk = node.meta.primary_key -%}
    with

    split as (

        {{ raw_fields_sql(node, lines) }}

    ),

    {#- What COPY loads as null is null here too, before a rule or the key check looks at it. -#}
    fields as (

        select
            line_number,
            line,
            field_count,
            {%- for column in columns %}
            {{ raw_field_or_null(column.name ~ '__text', column.data_type) }} as {{ column.name }}__text{{ "," if not loop.last }}
            {%- endfor %}
        from split

    ),

    typed as (

        select
            *,
            {%- for column in columns %}
            {{ raw_value_sql(column.name ~ '__text', column.data_type, node.meta.time_format) }}
                as {{ column.name }}{{ "," if not loop.last }}
            {%- endfor %}
        from fields

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
                    {{ raw_field_problem(column, node.meta.time_format) }}{{ "," if not loop.last }}
                    {%- endfor %}
                ), '')
            end as parse_reason
        from typed

    ),

    {#- The first good line with a key wins; later lines with the same key are quarantined, so a key
        that appears twice is never counted twice downstream. Only repeated keys are looked up: a
        window over every line would sort the whole file by key for the few that repeat. -#}
    repeated_keys as (

        select
            {{ pk }}__text as key_text,
            min(line_number) as first_line
        from judged
        where parse_reason is null
        group by {{ pk }}__text
        having count(*) > 1

    ),

    {#- Only what the raw table and the quarantine take: the texts of the fields stay behind. -#}
    final as (

        select
            judged.line_number,
            judged.line,
            {%- for column in columns %}
            judged.{{ column.name }},
            {%- endfor %}
            case
                when judged.parse_reason is not null then judged.parse_reason
                when judged.line_number > repeated_keys.first_line
                    then 'duplicate {{ pk }} ' || judged.{{ pk }}__text || ' (first at line '
                        || cast(repeated_keys.first_line as varchar(20)) || ')'
            end as reason
        from judged
        left join repeated_keys on judged.{{ pk }}__text = repeated_keys.key_text

    )

    select * from final
{% endmacro %}

{#- One row per line -> line_number, line, field_count and each field's text as {column}__text, null
    when empty (a field past the end of a short line is null too). -#}
{% macro raw_fields_sql(node, lines) %}
    {{ return(adapter.dispatch('raw_fields_sql', 'dbt_tickit')(node, lines)) }}
{% endmacro %}

{% macro default__raw_fields_sql(node, lines) %}
    {%- set delimiter = raw_delimiter_sql(node) -%}
    select
        line_number,
        line,
        length(line) - length(replace(line, {{ delimiter }}, '')) + 1 as field_count,
        {%- for column in node.columns.values() %}
        nullif(split_part(line, {{ delimiter }}, {{ loop.index }}), '') as {{ column.name }}__text{{ "," if not loop.last }}
        {%- endfor %}
    from {{ lines }}
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
    select '{{ node.name }}', '{{ node.meta.file }}', line_number, shown, {{ raw_undecoded_reason_sql('shown') }}
    from {{ lines }} where line is null;
    insert into {{ raw_bookkeeping_relation('load_audit') }}
    select
        '{{ node.name }}',
        '{{ node.meta.file }}',
        ({{ raw_line_count_sql(node) }}),
        (select count(*) from {{ relation }}),
        (select count(*) from {{ raw_bookkeeping_relation('quarantine') }} where source_name = '{{ node.name }}'),
        current_timestamp,
        ({{ raw_lines_fingerprint_sql(lines, 'coalesce(line, shown)') }});
    drop table {{ lines }};
    drop table {{ parsed }}
{% endmacro %}

{#- Why a line could not be read as text (`line` is null), from its bytes shown escaped (\xNN, alike on both
    engines). A NUL byte is refused on every engine: AWS's pages disagree on what COPY does with one (loaded
    as any other character, or the COPY fails), and PostgreSQL text cannot hold one. -#}
{% macro raw_undecoded_reason_sql(shown) %}
    {{ return("case when strpos(" ~ shown ~ ", '\\x00') > 0 then 'holds a NUL byte (bytes shown escaped)' "
              ~ "else 'not valid UTF-8 (bytes shown escaped)' end") }}
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
