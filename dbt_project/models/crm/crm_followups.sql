-- Who to follow up after each webinar held in the last `followup_days` days: every registrant,
-- with the contact e-mail, as a no-show or an attendee, and whether they were highly engaged
-- (stayed at least `followup_engaged_share` of the scheduled duration). Built after publish from
-- the published marts (source `published`) and the same build's registrations (the only place
-- the e-mail is kept in clear); readable by crm_reader only, never by bi_reader.

with

registrations as (

    select * from {{ source('published', 'fct_registrations') }}

),

webinars as (

    select * from {{ source('published', 'dim_webinars') }}

),

contacts as (

    select
        registration_id,
        email
    from {{ ref('int_registrations_unioned') }}
    where registration_id is not null

),

final as (

    select
        ----------  ids
        registrations.platform,
        registrations.webinar_id,
        registrations.person_key,

        ----------  strings
        webinars.title,
        webinars.course,
        webinars.language,
        case when registrations.attended then 'attendee' else 'no_show' end as segment,
        contacts.email,

        ----------  numerics
        registrations.minutes_attended,

        ----------  booleans
        coalesce(
            registrations.attended
            and registrations.minutes_attended
            >= {{ var('followup_engaged_share') }} * webinars.duration_minutes,
            false
        ) as is_highly_engaged,

        ----------  dates and timestamps
        webinars.webinar_date,
        registrations.registered_at

    from registrations
    inner join webinars
        on
            registrations.platform = webinars.platform
            and registrations.webinar_id = webinars.webinar_id
    inner join contacts
        on registrations.registration_id = contacts.registration_id
    where
        webinars.is_held
        and webinars.start_time
        >= {{ as_of_timestamp() }} - interval '{{ var("followup_days") }} days'

)

select * from final
