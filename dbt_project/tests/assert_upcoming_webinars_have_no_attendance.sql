-- Upcoming webinars (not held at the cut-off) have registrations but no attendance yet: their
-- attended, walk_ins, show_up_rate, avg_minutes_attended and total_minutes are null, never 0
-- (docs/design.md, business rules). Returns the offending webinars.
select
    platform,
    webinar_id,
    attended,
    walk_ins,
    show_up_rate,
    avg_minutes_attended,
    total_minutes
from {{ ref('webinar_attendance') }}
where
    not is_held
    and (
        attended is not null
        or walk_ins is not null
        or show_up_rate is not null
        or avg_minutes_attended is not null
        or total_minutes is not null
    )
