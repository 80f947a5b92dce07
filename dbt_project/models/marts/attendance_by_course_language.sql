-- One row per (month, platform, course, language) of held webinars (macros/attendance_rollup.sql).
{{ attendance_rollup("date_trunc('month', webinar_date)::date", 'webinar_month') }}
