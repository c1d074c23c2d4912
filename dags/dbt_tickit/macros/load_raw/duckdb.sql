{% macro duckdb__raw_file_size(node) %}
    {%- set location = raw_location_literal(node) -%}
    {%- set found = run_query("select count(*) from glob(" ~ location ~ ")").rows[0][0] -%}
    {%- if found == 0 -%}{{ return(none) }}{%- endif -%}
    {{ return(run_query("select size from read_blob(" ~ location ~ ")").rows[0][0]) }}
{% endmacro %}

{#- DuckDB reads every file path as a glob pattern: a folder named `data*` would also read `data-old`.
    Each of its wildcard characters is put in a class of its own (`[*]`), which matches only itself. -#}
{% macro duckdb__raw_location_literal(node) %}
    {%- set ns = namespace(path='') -%}
    {%- for character in raw_location(node) -%}
        {%- set ns.path = ns.path ~ ('[' ~ character ~ ']' if character in '*?[' else character) -%}
    {%- endfor -%}
    {{ return(sql_literal(ns.path)) }}
{% endmacro %}

{% macro duckdb__raw_try_cast(text, data_type) %}
    {{ return("try_cast(" ~ text ~ " as " ~ data_type ~ ")") }}
{% endmacro %}

{#- regexp_full_match: DuckDB's `~` is the same, spelled as a function. -#}
{% macro duckdb__raw_regex_matches(text, pattern) %}
    {{ return("regexp_full_match(" ~ text ~ ", " ~ sql_literal(pattern) ~ ")") }}
{% endmacro %}

{#- strlen counts bytes; length counts characters. -#}
{% macro duckdb__raw_byte_length(text) %}
    {{ return("strlen(" ~ text ~ ")") }}
{% endmacro %}

{#- Each line is split once into a list of fields: one split_part per field would scan the line again
    for every field (three times slower on the large files). -#}
{% macro duckdb__raw_fields_sql(node, lines) %}
    select
        line_number,
        line,
        len(fields) as field_count,
        {%- for column in node.columns.values() %}
        nullif(fields[{{ loop.index }}], '') as {{ column.name }}__text{{ "," if not loop.last }}
        {%- endfor %}
    from (select line_number, line, string_split(line, {{ raw_delimiter_sql(node) }}) as fields from {{ lines }}) as split_lines
{% endmacro %}

{% macro duckdb__raw_load_sql(node) %}
    {{ return(load_lines_then_parse_sql(node)) }}
{% endmacro %}

{#- DuckDB: a file that is all UTF-8 (the usual case) is split as text, cut at each newline. A line with a NUL
    byte is not read as text, as on PostgreSQL, whose text cannot hold one: it is quarantined with its bytes
    shown escaped. Otherwise
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
        from read_blob({{ raw_location_literal(node) }})

    ),

    {#- A final newline ends the last line, it does not start an empty one: that last piece is dropped
        after the split, as cutting the newline off first would copy the whole text. -#}
    text_lines as (

        select
            piece,
            line_number
        from (
            select
                unnest(lines) as piece,
                generate_subscripts(lines, 1) as line_number,
                len(lines) as piece_count,
                ends_with_newline
            from (
                select
                    string_split(text, chr(10)) as lines,
                    suffix(text, chr(10)) as ends_with_newline
                from file
                where text is not null and size > 0
            ) as split
        ) as pieces
        where line_number < piece_count or not ends_with_newline

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
            case when strpos(line, chr(0)) = 0 then line end as line,
            case when strpos(line, chr(0)) > 0 then cast(encode(line) as varchar) end as shown
        from (
            select
                line_number,
                case when right(piece, 1) = chr(13) then left(piece, -1) else piece end as line
            from text_lines
        ) as text_line
        union all
        select
            line_number,
            case when strpos(cast(bytes as varchar), '\x00') = 0 then try(decode(bytes)) end as line,
            cast(bytes as varchar) as shown
        from decoded

    )

    select * from final
{% endmacro %}

{#- Newline bytes counted in bytes (strlen): a newline is one byte in UTF-8, and counting characters
    would decode the whole text again. -#}
{% macro duckdb__raw_line_count_sql(node) %}
    select
        case
            when size = 0 then 0
            when text is not null
                then strlen(text) - strlen(replace(text, chr(10), '')) + case when suffix(text, chr(10)) then 0 else 1 end
            else len(regexp_extract_all(hex(content), '(?:[0-9A-F]{2})*?0A'))
                + case when right(hex(content), 2) <> '0A' then 1 else 0 end
        end
    from (select content, size, try(decode(content)) as text from read_blob({{ raw_location_literal(node) }})) as file
{% endmacro %}
