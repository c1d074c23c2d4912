{#- The parse DuckDB and PostgreSQL share: each engine splits a file into lines its own way
    (`raw_lines_sql`, in its own file), and everything after that is the same SQL. -#}
{#- Redshift's COPY time notation (YYYY-MM-DD HH:MI:SS) in strptime notation. -#}
{% macro strptime_format(redshift_format) %}
    {#- A namespace, because a plain `set` inside a Jinja loop does not outlive the loop. -#}
    {%- set ns = namespace(fmt=redshift_format) -%}
    {%- set directives = [('YYYY', '%Y'), ('MM', '%m'), ('DD', '%d'), ('HH', '%H'), ('MI', '%M'), ('SS', '%S')] -%}
    {%- for token, directive in directives -%}
        {%- set ns.fmt = ns.fmt.replace(token, directive) -%}
    {%- endfor -%}
    {{ return(ns.fmt) }}
{% endmacro %}

{#- A Redshift time format (YYYY-MM-DD HH:MI:SS) as a regular expression both engines check a time against
    before converting it, so they accept the same texts: what DuckDB's strptime takes for the format
    (measured: 1 to 4 digits of year, 1 or 2 of the others, hours 0-23, minutes and seconds 0-59, any run
    of white space for a space and around the value), but not the words it and PostgreSQL's cast also take
    (`infinity`, `epoch`, `now`, ...). Returns the pattern and, per part, its group's number. -#}
{% macro raw_time_pattern(time_format) %}
    {%- set parts = {
        'YYYY': '([0-9]{1,4})', 'MM': '([0-9]{1,2})', 'DD': '([0-9]{1,2})',
        'HH': '([01]?[0-9]|2[0-3])', 'MI': '([0-5]?[0-9])', 'SS': '([0-5]?[0-9])'} -%}
    {%- set ns = namespace(pattern='^\\s*', rest=time_format, group=0) -%}
    {%- set groups = {} -%}
    {%- for _ in range(time_format | length) if ns.rest -%}
        {%- set token = ns.rest[:4] if ns.rest[:4] in parts else ns.rest[:2] -%}
        {%- if token in parts -%}
            {%- set ns.group = ns.group + 1 -%}
            {%- do groups.update({token: ns.group}) -%}
            {%- set ns.pattern = ns.pattern ~ parts[token] -%}
            {%- set ns.rest = ns.rest[token | length:] -%}
        {%- else -%}
            {%- set ns.pattern = ns.pattern ~ ('\\s+' if ns.rest[0] == ' ' else '[' ~ ns.rest[0] ~ ']') -%}
            {%- set ns.rest = ns.rest[1:] -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return((ns.pattern ~ '\\s*$', groups)) }}
{% endmacro %}

{#- The delimiter as an SQL expression every engine reads the same way (a tab is chr(9)). -#}
{% macro raw_delimiter_sql(node) %}
    {{ return("chr(9)" if node.meta.delimiter == "\t" else "'" ~ node.meta.delimiter ~ "'") }}
{% endmacro %}

{#- One row per line of the file (line_number, line) -> the line's fields typed, and `reason`, null
    when the line is good. Plain SQL apart from `raw_try_cast`, so DuckDB and PostgreSQL parse alike. -#}
{% macro raw_parse_sql(node, lines) %}
    {%- set columns = node.columns.values() | list -%}
    {%- set header = columns | map(attribute='name') | join(node.meta.delimiter) -%}
    {%- set pk = node.meta.primary_key -%}
    with

    split as (

        {{ raw_fields_sql(node, lines) }}

    ),

    typed as (

        select
            *,
            {%- for column in columns %}
            {{ raw_try_cast(column.name ~ '__text', column.data_type, node.meta.time_format) }}
                as {{ column.name }}{{ "," if not loop.last }}
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

{#- Why one field of a line does not fit its column, or null when it does. -#}
{% macro raw_field_problem(column) %}
    {%- set text = column.name ~ '__text' -%}
    {%- set type = column.data_type | lower -%}
    {%- set length = type.split('(')[1].rstrip(')') if type.startswith(('char', 'varchar')) else none -%}
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
        current_timestamp;
    drop table {{ lines }};
    drop table {{ parsed }}
{% endmacro %}

{#- Why a line could not be read as text (`line` is null), from its bytes shown escaped. -#}
{% macro raw_undecoded_reason_sql(shown) %}
    {{ return(adapter.dispatch('raw_undecoded_reason_sql', 'dbt_tickit')(shown)) }}
{% endmacro %}

{% macro default__raw_undecoded_reason_sql(shown) %}
    {{ return("'not valid UTF-8 (bytes shown escaped)'") }}
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
