-- People who registered and did not come (crm_followups);
-- exported by `make followups LIST=no_shows`.
{{ followup_list("segment = 'no_show'") }}
