{#- Layers get plain schema names (bronze, silver, gold, audit) on every target, not dbt's default
    "<target schema>_<layer>": the warehouse reads the same locally and in production. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
