-- People who came (crm_followups);
-- exported by `make followups LIST=attendees`.
{{ followup_list("segment = 'attendee'") }}
