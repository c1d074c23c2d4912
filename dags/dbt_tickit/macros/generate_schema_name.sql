{#- Layers get plain schema names (raw, bronze, silver, gold) on every target, not dbt's default
    "<target schema>_<layer>": the warehouse reads the same locally and in production.
    The stored test failures are the exception: their schema is "<target schema>_audit" (`tickit_audit`
    by default), because the load empties it and a plain `audit` is a name other projects in the same
    database use too (docs/decisions/025-sql-hardening.md). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif custom_schema_name | trim == 'audit' -%}
        {{ target.schema ~ '_audit' }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
