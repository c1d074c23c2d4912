{#- One rule for every value: what Redshift's COPY, with the options the project gives it, loads and what it
    rejects, per column type (docs/loading-rules.md, with the AWS pages it comes from). DuckDB and PostgreSQL
    apply the same rule: a field is first matched whole against a strict pattern, written once here, and only
    a field that matches is cast. An engine's own cast is never the judge, because each takes more than
    COPY does (DuckDB rounds '12.7' to 13 and reads '1e3', '0x10', '1_000'; PostgreSQL reads 'today',
    'J2454474', 'on'). Only the spelling of a regular expression, of a cast and of a length in bytes differs
    by engine (`raw_regex_matches`, `raw_try_cast`, `raw_byte_length`). -#}

{#- The project's COPY sets no DATEFORMAT, so a date is in COPY's default, YYYY-MM-DD; a timestamp without a
    TIMEFORMAT is in COPY's default, YYYY-MM-DD HH:MI:SS. -#}
{% macro raw_default_format(data_type) %}
    {{ return('YYYY-MM-DD' if data_type == 'date' else 'YYYY-MM-DD HH:MI:SS') }}
{% endmacro %}

{#- A Redshift DATEFORMAT/TIMEFORMAT (YYYY-MM-DD HH:MI:SS) as a pattern that matches a whole field, and the
    replacement that rewrites a match in ISO order (YYYY-M-D H:M:S.f), which both engines cast exactly.
    YYYY is four digits, 0001 to 9999; the two-letter parts take one or two digits (AWS's own COPY of the
    sales file reads '2/18/2008' with MM/DD/YYYY) within their range (month 1-12, day 1-31, hours 0-23,
    minutes and seconds 0-59: PostgreSQL's cast would turn 24:00:00 and a 60th second into the next day or
    minute; the cast then refuses a day the month does not have); seconds may carry up to six decimals
    ("fractional seconds up to a microsecond"). Separators are the format's own characters, and nothing
    else: no white space around the value, no words (`now`, `infinity`, `epoch`, `J2454474`). -#}
{% macro raw_time_pattern(time_format) %}
    {%- set parts = {
        'YYYY': '(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})',
        'MM': '(0?[1-9]|1[0-2])', 'DD': '(0?[1-9]|[12][0-9]|3[01])',
        'HH': '([01]?[0-9]|2[0-3])', 'MI': '([0-5]?[0-9])', 'SS': '([0-5]?[0-9])([.][0-9]{1,6})?'} -%}
    {%- set ns = namespace(pattern='^', rest=time_format, group=0) -%}
    {%- set groups = {} -%}
    {%- for _ in range(time_format | length) if ns.rest -%}
        {%- set token = ns.rest[:4] if ns.rest[:4] in parts else ns.rest[:2] -%}
        {%- if token in parts -%}
            {%- set ns.group = ns.group + 1 -%}
            {%- do groups.update({token: '\\' ~ ns.group}) -%}
            {%- if token == 'SS' -%}
                {%- set ns.group = ns.group + 1 -%}
                {%- do groups.update({'fraction': '\\' ~ ns.group}) -%}
            {%- endif -%}
            {%- set ns.pattern = ns.pattern ~ parts[token] -%}
            {%- set ns.rest = ns.rest[token | length:] -%}
        {%- else -%}
            {%- set ns.pattern = ns.pattern ~ '[' ~ ns.rest[0] ~ ']' -%}
            {%- set ns.rest = ns.rest[1:] -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set iso = groups['YYYY'] ~ '-' ~ groups['MM'] ~ '-' ~ groups['DD'] -%}
    {%- if 'HH' in groups -%}
        {%- set iso = iso ~ ' ' ~ groups['HH'] ~ ':' ~ groups['MI'] ~ ':' ~ groups['SS'] ~ groups['fraction'] -%}
    {%- endif -%}
    {{ return((ns.pattern ~ '$', iso)) }}
{% endmacro %}

{#- The rule for one column type: the pattern a field must match whole, the rule in words for the
    quarantine's reason, and (dates and times) the rewrite into ISO order before the cast. A DECIMAL takes
    no more decimals than its scale: COPY would load '20.259' in a DECIMAL(8,2) as 20.25 (AWS's ROUNDEC page;
    its numeric types page says rounded), a changed value, so it is quarantined here. -#}
{% macro raw_value_rule(data_type, time_format) %}
    {%- set ranges = {
        'smallint': '-32768 to 32767', 'integer': '-2147483648 to 2147483647',
        'bigint': '-9223372036854775808 to 9223372036854775807'} -%}
    {%- if data_type in ranges -%}
        {{ return({'pattern': '^-?[0-9]+$', 'rule': 'digits and an optional minus, ' ~ ranges[data_type]}) }}
    {%- elif data_type.startswith(('decimal', 'numeric')) -%}
        {%- set precision, scale = data_type.split('(')[1].rstrip(')').split(',') | map('trim') | map('int') -%}
        {%- set fraction = '([.][0-9]{1,' ~ scale ~ '})?' if scale > 0 else '' -%}
        {{ return({'pattern': '^-?[0-9]+' ~ fraction ~ '$',
                   'rule': 'digits and an optional minus, at most ' ~ (precision - scale) ~ ' before the point and '
                           ~ scale ~ ' after'}) }}
    {%- elif data_type in ('date', 'timestamp') -%}
        {%- set format = time_format if data_type == 'timestamp' and time_format else raw_default_format(data_type) -%}
        {%- set pattern, iso = raw_time_pattern(format) -%}
        {{ return({'pattern': pattern, 'iso': iso, 'rule': format}) }}
    {%- elif data_type == 'boolean' -%}
        {{ return({'true': ['TRUE', 'true', 't', 'y', 'yes', '1'], 'false': ['FALSE', 'false', 'f', 'n', 'no', '0'],
                   'rule': 'TRUE, true, t, y, yes, 1, FALSE, false, f, n, no or 0'}) }}
    {%- endif -%}
    {{ exceptions.raise_compiler_error("the raw load has no rule for the column type " ~ data_type
                                       ~ "; add one to raw_value_rule and to docs/loading-rules.md") }}
{% endmacro %}

{#- A field's text -> its value, or null when it breaks its column's rule (never an error: bad content is
    quarantined, it does not stop the load). Text columns are judged by `raw_field_problem` alone. -#}
{% macro raw_value_sql(text, data_type, time_format) %}
    {%- set data_type = data_type | lower -%}
    {%- if data_type.startswith(('char', 'varchar')) -%}
        {{ return(text) }}
    {%- endif -%}
    {%- set rule = raw_value_rule(data_type, time_format) -%}
    {%- if data_type == 'boolean' -%}
        {{ return("case when " ~ text ~ " in ('" ~ rule['true'] | join("', '") ~ "') then true when " ~ text
                  ~ " in ('" ~ rule['false'] | join("', '") ~ "') then false end") }}
    {%- endif -%}
    {%- set canonical = text -%}
    {%- if 'iso' in rule -%}
        {%- set canonical = "regexp_replace(" ~ text ~ ", " ~ sql_literal(rule['pattern']) ~ ", "
                            ~ sql_literal(rule['iso']) ~ ")" -%}
    {%- endif -%}
    {{ return("case when " ~ raw_regex_matches(text, rule['pattern']) ~ " then "
              ~ raw_try_cast(canonical, data_type) ~ " end") }}
{% endmacro %}

{#- A field as COPY reads it: null when COPY loads null. The split already made every empty field null: the
    COPY says NULL AS '' (the same as EMPTYASNULL, so an empty text is null too, not ''; and `\N` is plain
    text, not COPY's default null string). A blank field (spaces and tabs only) is null too in a column
    that is not text, where COPY "always" loads it as null; a text column keeps it (no BLANKSASNULL). -#}
{% macro raw_field_or_null(text, data_type) %}
    {%- if (data_type | lower).startswith(('char', 'varchar')) -%}
        {{ return(text) }}
    {%- endif -%}
    {{ return("case when not " ~ raw_regex_matches(text, '^[ \\t]+$') ~ " then " ~ text ~ " end") }}
{% endmacro %}

{#- Why one field of a line does not fit its column, or null when it does; the reason names the column and
    the rule. CHAR takes ASCII only, and CHAR(n) and VARCHAR(n) count bytes, as Redshift does. -#}
{% macro raw_field_problem(column, time_format) %}
    {%- set text = column.name ~ '__text' -%}
    {%- set type = column.data_type | lower -%}
    {%- set length = type.split('(')[1].rstrip(')') if type.startswith(('char', 'varchar')) else none -%}
    {%- if length -%}
    case
        {%- if type.startswith('char') %}
        when {{ raw_byte_length(text) }} <> length({{ text }})
            then '{{ column.name }}: ''' || {{ text }} || ''' is not a {{ type }} (ASCII only)'
        {%- endif %}
        when {{ raw_byte_length(text) }} > {{ length }}
            then '{{ column.name }}: ' || cast({{ raw_byte_length(text) }} as varchar(12)) || ' bytes, at most {{ length }}'
    end
    {%- else -%}
    case when {{ text }} is not null and {{ column.name }} is null
        then '{{ column.name }}: ''' || {{ text }} || ''' is not a {{ type }} ({{ raw_value_rule(type, time_format)['rule'] }})' end
    {%- endif -%}
{% endmacro %}

{#- Does `text` match `pattern` (anchored; its syntax is common to RE2 and PostgreSQL's regular expressions). -#}
{% macro raw_regex_matches(text, pattern) %}
    {{ return(adapter.dispatch('raw_regex_matches', 'dbt_tickit')(text, pattern)) }}
{% endmacro %}

{% macro default__raw_regex_matches(text, pattern) %}
    {{ return("(" ~ text ~ " ~ " ~ sql_literal(pattern) ~ ")") }}
{% endmacro %}

{#- Text that already matched its rule, cast to the column type; null when the cast still fails (a number
    out of range, a day the month does not have). -#}
{% macro raw_try_cast(text, data_type) %}
    {{ return(adapter.dispatch('raw_try_cast', 'dbt_tickit')(text, data_type | lower)) }}
{% endmacro %}

{#- A text's length in bytes of UTF-8, as Redshift measures CHAR and VARCHAR. -#}
{% macro raw_byte_length(text) %}
    {{ return(adapter.dispatch('raw_byte_length', 'dbt_tickit')(text)) }}
{% endmacro %}

{% macro default__raw_byte_length(text) %}
    {{ return("octet_length(" ~ text ~ ")") }}
{% endmacro %}
