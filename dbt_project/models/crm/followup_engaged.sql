-- People who came and stayed for most of the webinar (crm_followups);
-- exported by `make followups LIST=engaged`.
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
where is_highly_engaged
