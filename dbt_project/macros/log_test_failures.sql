{#-
    on-run-end (dbt_project.yml): for every data test that failed or warned, log what the
    on-call person needs instead of a bare test id - the model, the column, a few offending
    values and the webinars they belong to:

        dbt test failed: accepted_values on int_webinar_catalog.language - 2 failing row(s),
        e.g. value_field='ru', n_records=2; webinars: bigmarker:c9, bigmarker:c12

    It re-runs the failing test's compiled query (limit `max_rows`), so nothing is stored and
    passing runs cost nothing. Values that may be personal data (columns named like e-mail,
    hash or person_key, anything containing '@') are never logged.
-#}
{% macro log_test_failures(results, max_rows=5) %}
    {%- if execute -%}
        {%- for res in results -%}
            {%- if res.node.resource_type == 'test' and res.status in ('fail', 'warn', 'error') -%}
                {{- _log_one_test_failure(res, max_rows) -}}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}


{% macro _log_one_test_failure(res, max_rows) %}
    {%- set node = res.node -%}
    {%- set test_name = node.test_metadata.name if node.test_metadata else node.name -%}
    {%- set model_node = graph.nodes.get(node.attached_node) if node.attached_node else none -%}
    {%- set model_name = model_node.name if model_node else '?' -%}
    {%- set column = node.column_name or '' -%}
    {%- set where = model_name ~ ('.' ~ column if column else '') -%}
    {%- set examples = [] -%}
    {%- set webinars = [] -%}
    {%- if res.status != 'error' and node.compiled_code -%}
        {%- set failing = run_query(
            'select * from (' ~ node.compiled_code ~ ') as failing limit ' ~ max_rows
        ) -%}
        {%- for row in failing.rows -%}
            {%- set cells = [] -%}
            {%- for name in failing.column_names -%}
                {%- do cells.append(name ~ '=' ~ _safe_value(name, row[name])) -%}
            {%- endfor -%}
            {%- do examples.append(cells | join(', ')) -%}
        {%- endfor -%}
        {%- if model_node and column and model_node.config.materialized != 'ephemeral' -%}
            {%- do webinars.extend(_failing_webinars(node, model_node, column, failing, max_rows)) -%}
        {%- endif -%}
    {%- endif -%}
    {%- set message -%}
        dbt test {{ 'failed' if res.status == 'fail' else res.status }}: {{ test_name }} on {{ where }}
        {{- ' - ' ~ res.failures ~ ' failing row(s)' if res.failures is not none else '' }}
        {{- ', e.g. ' ~ (examples | join('; ')) if examples else '' }}
        {{- '; webinars: ' ~ (webinars | join(', ')) if webinars else '' }}
        {{- ' (' ~ res.message ~ ')' if res.status == 'error' and res.message else '' }}
    {%- endset -%}
    {%- do log(message | trim, info=True) -%}
{% endmacro %}


{#- A value for a log line: hidden when it may be personal data. -#}
{% macro _safe_value(name, value) %}
    {%- set lowered = name | lower -%}
    {%- if 'email' in lowered or 'hash' in lowered or 'person_key' in lowered
        or '@' in (value | string) -%}
        {{- '<hidden>' -}}
    {%- elif value is none -%}
        {{- 'null' -}}
    {%- else -%}
        {{- "'" ~ (value | string)[:80] ~ "'" -}}
    {%- endif -%}
{% endmacro %}


{#- The webinars of a column test's offending rows: `platform:webinar_id` of the model rows whose
    column holds one of the failing values (not_null: is null). [] when the model has no webinar
    id column or the failing rows do not name the value. -#}
{% macro _failing_webinars(node, model_node, column, failing, max_rows) %}
    {%- set relation = adapter.get_relation(
        database=model_node.database, schema=model_node.schema,
        identifier=model_node.alias or model_node.name) -%}
    {%- if relation is none -%}{{ return([]) }}{%- endif -%}
    {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
    {%- set id_column = (['webinar_id', 'calendly_event_id', 'event_id', 'conference_id']
        | select('in', names) | list | first) -%}
    {%- if not id_column or column not in names -%}{{ return([]) }}{%- endif -%}
    {%- set platform = "platform || ':' || " if 'platform' in names else '' -%}
    {%- set test_name = node.test_metadata.name if node.test_metadata else '' -%}
    {%- if test_name == 'not_null' -%}
        {%- set condition = adapter.quote(column) ~ ' is null' -%}
    {%- elif failing.rows | length > 0 -%}
        {%- set values = [] -%}
        {%- for row in failing.rows if row[0] is not none -%}
            {%- do values.append("'" ~ ((row[0] | string) | replace("'", "''")) ~ "'") -%}
        {%- endfor -%}
        {%- if not values -%}{{ return([]) }}{%- endif -%}
        {%- set condition = adapter.quote(column) ~ '::text in (' ~ (values | join(', ')) ~ ')' -%}
    {%- else -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set found = run_query(
        'select distinct ' ~ platform ~ adapter.quote(id_column) ~ ' as webinar from ' ~ relation
        ~ ' where ' ~ condition ~ ' order by 1 limit ' ~ max_rows
    ) -%}
    {{ return(found.columns[0].values() | list) }}
{% endmacro %}
