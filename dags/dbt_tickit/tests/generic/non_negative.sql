{#- Rows where an amount or a count is below zero: a refund or a typo must not be summed as a sale. -#}
{% test non_negative(model, column_name) %}

select * from {{ model }}
where {{ column_name }} < 0

{% endtest %}
