-- People who came (crm_followups);
-- exported by `make followups LIST=attendees`.
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
where segment = 'attendee'
