-- One row per (day, platform, course, language) of held webinars (macros/attendance_rollup.sql).
{{ attendance_rollup('webinar_date', 'webinar_date') }}
