{#- Which rows an incremental model processes: the DAG run's data interval when the run has one.

    The DAG passes `tickit_interval_start` and `tickit_interval_end` ('YYYY-MM-DD HH:MM:SS', UTC, end
    excluded) on scheduled and backfill runs; a manual run (`tickit run`, the UI's trigger button) passes
    none and processes all the data. `--full-refresh` rebuilds from all the data whatever the interval,
    so one full refresh equals a backfill over every day the data covers (tested). So does a model built
    from other raw files than it holds (macros/dataset_identity.sql): it is rebuilt from all of them. -#}
{% macro in_data_interval(column) %}
    {%- set start = var('tickit_interval_start', '') -%}
    {%- set end = var('tickit_interval_end', '') -%}
    {%- if start and end and not flags.FULL_REFRESH and not dataset_changed() -%}
        {{ column }} >= cast({{ sql_literal(start) }} as timestamp) and {{ column }} < cast({{ sql_literal(end) }} as timestamp)
    {%- else -%}
        1 = 1
    {%- endif -%}
{% endmacro %}
