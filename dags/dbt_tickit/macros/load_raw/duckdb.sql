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

{#- What the load asks first of each file, in pieces (`tickit_scan_lines`, registered by the profile's plugin,
    tickit_runtime/duckdb_plugin.py): whether DuckDB's CSV reader reads its lines as they are, and how many it
    has. DuckDB reads a file's bytes only whole, which at scale 100 takes several GiB; the CSV reader streams.
    Each read below is handed the file or nothing, so only one of them reads it (read_csv needs a file to
    read: /dev/null, empty). A line's number is its place in the order the CSV reader reads the file, which
    DuckDB keeps only when asked: the profile lets it reorder rows everywhere else (decision 045). -#}
{% macro duckdb__raw_load_prelude(node) %}
    set preserve_insertion_order = true;
    set variable tickit_scan = tickit_scan_lines({{ sql_literal(raw_location(node)) }});
    set variable tickit_csv_files = case
        when getvariable('tickit_scan').plain then [{{ raw_location_literal(node) }}] else ['/dev/null']
    end;
    set variable tickit_blob_files = case
        when getvariable('tickit_scan').plain then []::varchar [] else [{{ raw_location_literal(node) }}]
    end;
{% endmacro %}

{#- DuckDB: a plain file (UTF-8 with no NUL, no CR and no line over 1 MiB: the usual case) is split by the CSV
    reader, in order, with no quote, no escape and a delimiter byte the file does not hold, so each line is one
    field; the reader reads an empty line as null. Any other file is read whole: a file that is all UTF-8 is
    split as text, cut at each newline. A line with a NUL byte is not read as text, as on PostgreSQL, whose text
    cannot hold one: it is quarantined with its bytes shown escaped. Otherwise its bytes are split as hex digits, cut after each newline byte (0A, at an even offset, so a match
    never straddles two bytes), and each piece is turned back into bytes and decoded when it is UTF-8.
    The second way is ten times slower, so it only runs for a file that needs it. -#}
{% macro duckdb__raw_lines_sql(node) %}
    with

    csv_lines as (

        select
            row_number() over () as line_number,
            coalesce(line, '') as line
        from read_csv(
            getvariable('tickit_csv_files'),
            columns = {'line': 'varchar'}, delim = chr(1), quote = '', escape = '', new_line = '\n',
            header = false, auto_detect = false, strict_mode = false
        )

    ),

    file as (

        select
            content,
            size,
            try(decode(content)) as text
        from read_blob(getvariable('tickit_blob_files'))

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
            line,
            null as shown
        from csv_lines
        union all
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

{#- Counted by the scan that chose the split (in pieces, apart from the split itself): newline bytes, plus a
    last line without one. -#}
{% macro duckdb__raw_line_count_sql(node) %}
    select getvariable('tickit_scan').lines
{% endmacro %}
