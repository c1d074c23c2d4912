{% macro redshift__raw_location(node) %}
    {{ return(raw_location_dir() ~ '/' ~ node.meta.file) }}
{% endmacro %}

{#- COPY reads a manifest naming the file's exact key, never a prefix: from 's3://…/sales_tab.txt' it would
    also read 'sales_tab.txt.bak' and any other key starting so. `tickit deploy` writes one manifest per
    file (`tickit_platform.deploy.raw_manifests`) and uploads it with the bundle. -#}
{% macro redshift__raw_location_literal(node) %}
    {%- set folder = env_var('DBT_TICKIT_S3_MANIFEST_URI', '') -%}
    {%- if folder == '' -%}
        {{ exceptions.raise_compiler_error(
            "DBT_TICKIT_S3_MANIFEST_URI is not set: Redshift's COPY reads the S3 manifests naming each raw file's "
            ~ "exact key, which `tickit deploy push` uploads under s3://<bucket>/raw-manifests/ (the Airflow "
            ~ "Variable tickit_source_manifest_uri on MWAA).") }}
    {%- endif -%}
    {{ return(sql_literal(folder.rstrip('/') ~ '/' ~ node.meta.file ~ '.manifest')) }}
{% endmacro %}

{#- Redshift loads with COPY from S3 (the public redshift-downloads bucket by default), using the
    warehouse's IAM role; the formats are the ones the Getting Started Guide gives. Every line of the
    file still ends up in exactly one place, in three steps (docs/decisions/015-redshift-load-errors.md):
    1. the typed COPY. A line it cannot load is not fatal (MAXERROR): Redshift logs it with its line
       number and reason, and it is copied from that log into raw.quarantine right away, while
       pg_last_copy_id() still names this COPY. No TRUNCATECOLUMNS and no ACCEPTINVCHARS: an
       over-long string or invalid UTF-8 is rejected, so quarantined, never loaded altered. NULL AS ''
       loads an empty text field as null, as an empty number already is and as the local engines load
       it ('' otherwise; and `\N` is then plain text, not a null). docs/loading-rules.md has every rule.
    2. a second COPY of the same file into one column of whole lines, only to count them: the count
       the reconciliation checks, taken apart from the typed COPY and from Redshift's error log.
    3. plain SQL (`raw_after_copy_sql`, the same on every engine) moves the rows COPY accepted but
       the local engines refuse (an empty key, a duplicate key) to the quarantine, then writes the
       audit.
    Safe to run again (dbt-redshift runs a script again after some errors, and autocommit has committed
    each statement before): the table is replaced, and this file's rows in the quarantine and the audit
    are deleted first, so a second run leaves what one run leaves. -#}
{% macro redshift__raw_load_sql(node) %}
    {%- set role = env_var('DBT_TICKIT_S3_IAM_ROLE_ARN', '') -%}
    {%- if role == '' -%}
        {{ exceptions.raise_compiler_error(
            "DBT_TICKIT_S3_IAM_ROLE_ARN is not set: Redshift needs an IAM role that may read "
            ~ raw_location(node) ~ " (the Airflow Variable tickit_source_iam_role_arn on MWAA).") }}
    {%- endif -%}
    {%- set relation = raw_relation(node) -%}
    {%- set lines = raw_scratch(node, 'lines') -%}
    {%- set region = "region " ~ sql_literal(env_var("DBT_TICKIT_S3_REGION", "us-east-1")) -%}
    delete from {{ raw_bookkeeping_relation('quarantine') }} where source_name = '{{ node.name }}';
    delete from {{ raw_bookkeeping_relation('load_audit') }} where source_name = '{{ node.name }}';
    drop table if exists {{ relation }};
    {{ raw_create_sql(node, relation) }};
    copy {{ relation }} from {{ raw_location_literal(node) }}
        iam_role {{ sql_literal(role) }}
        delimiter '{{ "\\t" if node.meta.delimiter == "\t" else node.meta.delimiter }}'
        {%- if node.meta.time_format %} timeformat '{{ node.meta.time_format }}'{% endif %}
        null as ''
        {{ region }}
        maxerror 100000
        manifest;
    {{ redshift_rejected_lines_sql(node) }};
    drop table if exists {{ lines }};
    create temp table {{ lines }} (line varchar(65535));
    {#- Every line is one row here, an empty one too (Redshift skips blank lines only when told to,
        IGNOREBLANKLINES). The delimiter is a control character the tickit files never hold; a line
        that did hold one would have two fields, and MAXERROR 0 makes that fail the load, loudly,
        rather than be miscounted. TRUNCATECOLUMNS and ACCEPTINVCHARS are safe here and only here:
        this table is counted, never read, and the typed COPY above rejects the same line. #}
    copy {{ lines }} from {{ raw_location_literal(node) }}
        iam_role {{ sql_literal(role) }}
        delimiter '\001'
        acceptinvchars truncatecolumns
        {{ region }}
        maxerror 0
        manifest;
    {{ raw_after_copy_sql(node, lines) }};
    drop table {{ lines }}
{% endmacro %}

{#- The lines the typed COPY just rejected, into raw.quarantine, read from the log of the kind of
    Redshift the target is. pg_last_copy_id() is the id of this session's last COPY, so a COPY
    another session runs at the same time never matches it. One row per line, whatever the number of
    errors Redshift logs for it; an error that names no column still has its reason (`||` with a null
    is null). A line is keyed by the object it was read from and its number: the manifest names one object
    per file, and should it name more, their lines 1 stay apart. -#}
{% macro redshift_rejected_lines_sql(node) %}
    {%- if redshift_is_serverless() -%}
    {#- Serverless keeps no STL views; SYS_LOAD_ERROR_DETAIL has the line number, the column and the
        reason, but not the line's text. -#}
    insert into {{ raw_bookkeeping_relation('quarantine') }}
    select
        '{{ node.name }}',
        trim(file_name),
        line_number,
        null,
        min(coalesce(trim(column_name) || ': ', '') || trim(error_message))
    from sys_load_error_detail
    where query_id = pg_last_copy_id()
    group by trim(file_name), line_number
    {%- else -%}
    {#- A provisioned cluster also logs the line's text (multibyte characters shown as dots). -#}
    insert into {{ raw_bookkeeping_relation('quarantine') }}
    select
        '{{ node.name }}',
        trim(filename),
        line_number,
        min(trim(raw_line)),
        min(coalesce(trim(colname) || ': ', '') || trim(err_reason))
    from stl_load_errors
    where query = pg_last_copy_id()
    group by trim(filename), line_number
    {%- endif -%}
{% endmacro %}

{#- Serverless or a provisioned cluster, as the `dwh` profile decides it (exactly one is set). -#}
{% macro redshift_is_serverless() %}
    {{ return(env_var('DBT_REDSHIFT_WORKGROUP_NAME', '') != '') }}
{% endmacro %}

{% macro redshift__raw_now() %}
    {{ return('getdate()') }}
{% endmacro %}
