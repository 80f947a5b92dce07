-- People who registered and did not come (crm_followups);
-- exported by `make followups LIST=no_shows`.
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
where segment = 'no_show'
