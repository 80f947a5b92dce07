{#- Rows where `expression` is not true (nulls count as not true unless the expression handles
    them). Like dbt_utils.expression_is_true, without the package. -#}
{% test expression_is_true(model, expression, column_name=none) %}

    select *
    from {{ model }}
    where not coalesce(({{ expression }}), false)

{% endtest %}
