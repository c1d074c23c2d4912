{% macro postgres__raw_file_size(node) %}
    {{ return(run_query("select (pg_stat_file(" ~ raw_location_literal(node) ~ ", true)).size").rows[0][0]) }}
{% endmacro %}

{#- PostgreSQL has no try_cast: small functions catch the cast error (created by the PostgreSQL load). -#}
{% macro postgres__raw_try_cast(text, data_type, time_format) %}
    {%- if data_type.startswith('char') or data_type.startswith('varchar') -%}
        {{ return(text) }}
    {%- endif -%}
    {{ return(postgres__raw_try_function(data_type) ~ "(" ~ text ~ ")") }}
{% endmacro %}

{% macro postgres__raw_try_function(data_type) %}
    {%- set name = data_type | replace('(', '_') | replace(',', '_') | replace(')', '') | replace(' ', '') -%}
    {{ return("raw.tickit_try_" ~ name) }}
{% endmacro %}

{% macro postgres__raw_load_sql(node) %}
    {{ return(load_lines_then_parse_sql(node)) }}
{% endmacro %}

{#- PostgreSQL reads the file server-side (as Redshift's COPY reads S3): the server must be able to read
    TICKIT_RAW_DIR (same machine; superuser or pg_read_server_files). Latin-1 maps every byte to one
    character, so the split never fails; each line is turned back into its bytes and decoded as UTF-8. -#}
{% macro postgres__raw_lines_sql(node) %}
    with

    file as (

        select convert_from(pg_read_binary_file({{ raw_location_literal(node) }}), 'LATIN1') as text

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
    from (select convert_from(pg_read_binary_file({{ raw_location_literal(node) }}), 'LATIN1') as text) as file
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
