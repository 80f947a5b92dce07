{#- Passes when the model is empty: for report tables whose rows are findings (configure it
    with severity warn so that a finding is reported, not a failure). -#}
{% test no_rows(model) %}

select * from {{ model }}

{% endtest %}
