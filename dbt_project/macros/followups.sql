{#- One follow-up list: the columns the sales team exports, rows of crm_followups matching
    `condition` (models/crm/followup_*.sql). -#}
{% macro followup_list(condition) -%}
select
    webinar_date,
    platform,
    webinar_id,
    title,
    course,
    language,
    email,
    minutes_attended,
    registered_at
from {{ ref('crm_followups') }}
where {{ condition }}
{%- endmacro %}
