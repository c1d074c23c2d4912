{#- A value written into SQL as a string literal, escaped as the engine reads literals: a quote in an
    Airflow Variable (the COPY role, the region) or in a folder's name must not end the string early. -#}
{% macro sql_literal(value) %}
    {{ return(adapter.dispatch('sql_literal', 'dbt_tickit')(value | string)) }}
{% endmacro %}

{% macro default__sql_literal(value) %}
    {{ return("'" ~ dbt.escape_single_quotes(value) ~ "'") }}
{% endmacro %}

{#- Redshift also reads a backslash in a literal as an escape (which is how `delimiter '\t'` means a tab). -#}
{% macro redshift__sql_literal(value) %}
    {{ return("'" ~ dbt.escape_single_quotes(value | replace('\\', '\\\\')) ~ "'") }}
{% endmacro %}
