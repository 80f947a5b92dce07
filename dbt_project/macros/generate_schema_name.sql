{#-
    Models land in exactly the schema they configure (`staging`, `intermediate`,
    `marts_build`), not in dbt's default `<target_schema>_<custom_schema>`: the publish step
    and the BI grants rely on these fixed names.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
