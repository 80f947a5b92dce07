{#-
    Post-hook of every mart: record in the table comment which build wrote it, as JSON
    `{"as_of": …, "dag_run_id": …, "invocation_id": …}` — the cut-off the mart was computed for
    (`as_of`), the Airflow run whose dbt_build wrote it (`dag_run_id`; both from run_value()) and the dbt
    invocation. The stamps of the relations in `marts_build` are the identity of the build there:
    the quality gate records what it validated, publish checks it (webinar_dwh.warehouse.builds),
    and an incremental mart reads its last `as_of` back (`_previous_as_of()`). The comment
    travels with the table through publish's swap.
-#}
{% macro build_stamp() -%}
    do $build_stamp$
    begin
        execute format(
            'comment on table %s is %L',
            '{{ this }}',
            json_build_object(
                'as_of', {{ as_of_timestamp() }},
                'dag_run_id', {{ "'" ~ (run_value('dag_run_id') | replace("'", "''")) ~ "'" if run_value('dag_run_id') else 'null' }}::text,
                'invocation_id', '{{ invocation_id }}'::text
            )::text
        );
    end
    $build_stamp$
{%- endmacro %}
