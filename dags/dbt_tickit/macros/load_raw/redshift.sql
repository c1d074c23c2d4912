{% macro redshift__raw_location(node) %}
    {{ return(raw_location_dir() ~ '/' ~ node.meta.file) }}
{% endmacro %}

{#- Redshift loads with COPY from S3 (the public redshift-downloads bucket by default), using the
    cluster's IAM role; the formats are the ones the Getting Started Guide gives. Lines COPY cannot
    load are not fatal (MAXERROR): Redshift records each in STL_LOAD_ERRORS with its line, text and
    reason, and they are copied from there into raw.quarantine. -#}
{% macro redshift__raw_load_sql(node) %}
    {%- set role = env_var('DBT_TICKIT_S3_IAM_ROLE_ARN', '') -%}
    {%- if role == '' -%}
        {{ exceptions.raise_compiler_error(
            "DBT_TICKIT_S3_IAM_ROLE_ARN is not set: Redshift needs an IAM role that may read "
            ~ raw_location(node) ~ " (the Airflow Variable tickit_source_iam_role_arn on MWAA).") }}
    {%- endif -%}
    {%- set relation = raw_relation(node) -%}
    drop table if exists {{ relation }};
    {{ raw_create_sql(node, relation) }};
    copy {{ relation }} from '{{ raw_location(node) }}'
        iam_role '{{ role }}'
        delimiter '{{ "\\t" if node.meta.delimiter == "\t" else node.meta.delimiter }}'
        {%- if node.meta.time_format %} timeformat '{{ node.meta.time_format }}'{% endif %}
        region '{{ env_var("DBT_TICKIT_S3_REGION", "us-east-1") }}'
        maxerror 100000;
    insert into {{ raw_bookkeeping_relation('quarantine') }}
    select '{{ node.name }}', '{{ node.meta.file }}', line_number, trim(raw_line), trim(err_reason)
    from stl_load_errors where query = pg_last_copy_id();
    insert into {{ raw_bookkeeping_relation('load_audit') }}
    select
        '{{ node.name }}',
        '{{ node.meta.file }}',
        (select count(*) from {{ relation }})
            + (select count(*) from stl_load_errors where query = pg_last_copy_id()),
        (select count(*) from {{ relation }}),
        (select count(*) from stl_load_errors where query = pg_last_copy_id()),
        getdate()
{% endmacro %}
