{% macro postgres__raw_long_text_type(length) %}
    {{ return('text') }}
{% endmacro %}

{% macro postgres__raw_file_size(node) %}
    {{ return(run_query("select (pg_stat_file(" ~ raw_location_literal(node) ~ ", true)).size").rows[0][0]) }}
{% endmacro %}

{#- PostgreSQL has no try_cast: small functions catch the cast error (created by the PostgreSQL load). They
    only see text that matched its column's rule, so the cast's own leniency (`today`, `on`) never decides. -#}
{% macro postgres__raw_try_cast(text, data_type) %}
    {{ return(postgres__raw_try_function(data_type) ~ "(" ~ text ~ ")") }}
{% endmacro %}

{% macro postgres__raw_try_function(data_type) %}
    {%- set name = data_type | replace('(', '_') | replace(',', '_') | replace(')', '') | replace(' ', '') -%}
    {{ return(raw_schema() ~ ".tickit_try_" ~ name) }}
{% endmacro %}

{% macro postgres__raw_load_sql(node) %}
    {{ return(load_lines_then_parse_sql(node)) }}
{% endmacro %}

{#- How many bytes of a file PostgreSQL reads at once. A whole file in one value fails at 1 GiB (a field's
    limit); pieces of 64 MiB stay far below it, even when escaping makes their text four times longer.
    Tests set a few bytes, so that lines straddle pieces. -#}
{% macro postgres__raw_piece_bytes() %}
    {{ return(var('tickit_raw_piece_bytes', 67108864) | int) }}
{% endmacro %}

{#- The file's pieces in order (piece_number, text): each piece's bytes written in PostgreSQL's `escape`
    encoding, which keeps every byte but NUL and those over 127 as itself, a newline included, so the
    text holds no NUL (PostgreSQL text cannot) and decodes back to exactly the bytes. -#}
{% macro postgres__raw_pieces_sql(node) %}
    {%- set piece = postgres__raw_piece_bytes() -%}
    select
        piece_number,
        encode(pg_read_binary_file({{ raw_location_literal(node) }}, start, {{ piece }}), 'escape') as text
    from
        (select (pg_stat_file({{ raw_location_literal(node) }})).size as size) as file,
        generate_series(0, file.size - 1, {{ piece }}) with ordinality as starts (start, piece_number)
{% endmacro %}

{#- PostgreSQL reads the file server-side (as Redshift's COPY reads S3), in pieces: the server must be able
    to read TICKIT_RAW_DIR (same machine; superuser or pg_read_server_files). Each piece is cut at its
    newlines; a line cut by the end of a piece is joined again with its rest from the next piece. Each
    line is turned back into its bytes and decoded as UTF-8. -#}
{% macro postgres__raw_lines_sql(node) %}
    with

    pieces as (

        select
            piece_number,
            string_to_array(text, E'\n') as fragments
        from ({{ postgres__raw_pieces_sql(node) }}) as read_pieces

    ),

    {#- A piece with n fragments holds n - 1 newlines: the line numbers before it follow from that. -#}
    counted as (

        select
            piece_number,
            fragments,
            cardinality(fragments) as fragment_count,
            coalesce(sum(cardinality(fragments) - 1) over (
                order by piece_number rows between unbounded preceding and 1 preceding
            ), 0) as lines_before,
            max(piece_number) over () as last_piece,
            sum(cardinality(fragments) - 1) over () + 1 as last_line
        from pieces

    ),

    fragments as (

        select
            counted.piece_number,
            counted.lines_before + pieces.position as line_number,
            pieces.fragment,
            counted.last_line,
            (pieces.position = 1 and counted.piece_number > 1)
            or (pieces.position = counted.fragment_count and counted.piece_number < counted.last_piece) as is_cut
        from counted,
            unnest(counted.fragments) with ordinality as pieces (fragment, position)

    ),

    joined as (

        select
            line_number,
            fragment as piece,
            last_line
        from fragments
        where not is_cut
        union all
        select
            line_number,
            string_agg(fragment, '' order by piece_number) as piece,
            max(last_line) as last_line
        from fragments
        where is_cut
        group by line_number

    ),

    {#- A final newline ends the last line, it does not start an empty one. -#}
    final as (

        select
            line_number,
            decode(case when right(piece, 1) = E'\r' then left(piece, -1) else piece end, 'escape') as bytes
        from joined
        where not (line_number = last_line and piece = '')

    ),

    decoded as (

        select line_number, bytes, {{ raw_schema() }}.tickit_utf8(bytes) as line from final

    )

    select line_number, line, case when line is null then {{ raw_schema() }}.tickit_escaped(bytes) end as shown from decoded
{% endmacro %}

{#- Newlines counted piece by piece, apart from the split above, plus a last line without one. -#}
{% macro postgres__raw_line_count_sql(node) %}
    {%- set location = raw_location_literal(node) -%}
    select
        coalesce(sum(length(text) - length(replace(text, E'\n', ''))), 0)
        + (
            select case when size > 0 and get_byte(pg_read_binary_file({{ location }}, size - 1, 1), 0) <> 10 then 1 else 0 end
            from (select (pg_stat_file({{ location }})).size as size) as file
        )
    from ({{ postgres__raw_pieces_sql(node) }}) as read_pieces
{% endmacro %}

{#- The casts PostgreSQL lacks a "try" form of. An exception block costs a subtransaction only when
    it catches something, and bad lines are rare. -#}
{% macro postgres__raw_load_prelude(node) %}
    {%- set types = node.columns.values() | map(attribute='data_type') | map('lower') | unique | list -%}
    {%- for type in types if not type.startswith(('char', 'varchar')) and type != 'boolean' %}
    create or replace function {{ postgres__raw_try_function(type) }}(value text) returns {{ type }}
    language plpgsql immutable as $$
    begin
        return value::{{ type }};
    exception when others then
        return null;
    end $$;
    {%- endfor %}
    create or replace function {{ raw_schema() }}.tickit_utf8(value bytea) returns text
    language plpgsql immutable as $$
    begin
        return convert_from(value, 'UTF8');
    exception when others then
        return null;
    end $$;
    {#- The bytes of a line that is not UTF-8, written as DuckDB casts a blob to text (printable ASCII as
        itself, every other byte and the quotes and backslash as \xNN), so both engines quarantine the
        same text. Only called for such lines, which are rare. -#}
    create or replace function {{ raw_schema() }}.tickit_escaped(value bytea) returns text
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
