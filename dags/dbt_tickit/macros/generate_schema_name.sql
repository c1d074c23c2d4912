{#- Layers get plain schema names (raw, bronze, silver, gold) on every target, not dbt's default
    "<target schema>_<layer>": the warehouse reads the same locally and in production.
    The stored test failures are the exception: their schema is "<target schema>_audit" (`tickit_audit`
    by default), because the load empties it and a plain `audit` is a name other projects in the same
    database use too (docs/decisions/025-sql-hardening.md).
    Every name takes the deployment's schema prefix, TICKIT_SCHEMA_PREFIX (`tickit_schema`): two deployments
    of the project in one database then never touch each other's schemas (docs/decisions/034). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ tickit_schema(target.schema) }}
    {%- elif custom_schema_name | trim == 'audit' -%}
        {{ tickit_schema(target.schema ~ '_audit') }}
    {%- else -%}
        {{ tickit_schema(custom_schema_name | trim) }}
    {%- endif -%}
{%- endmacro %}

{#- A schema of this deployment: `name` itself with no prefix (the default), else "<prefix>_<name>".
    The prefix goes into SQL unquoted, so it is held to what every engine takes as a plain lower-case
    name; the CLI and the DAG check the same rule before dbt starts (tickit_runtime/schemas.py). -#}
{% macro tickit_schema(name) -%}
    {%- set prefix = env_var('TICKIT_SCHEMA_PREFIX', '') | trim -%}
    {%- if prefix == '' -%}
        {{ return(name) }}
    {%- endif -%}
    {%- if not modules.re.fullmatch('[a-z][a-z0-9_]{0,39}', prefix) -%}
        {{ exceptions.raise_compiler_error(
            "TICKIT_SCHEMA_PREFIX must be a lower-case letter followed by at most 39 lower-case letters, "
            ~ "digits or underscores (it starts every schema name of the project)") }}
    {%- endif -%}
    {{ return(prefix ~ '_' ~ name) }}
{%- endmacro %}
