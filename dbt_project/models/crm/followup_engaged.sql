-- People who came and stayed for most of the webinar (crm_followups);
-- exported by `make followups LIST=engaged`.
{{ followup_list("is_highly_engaged") }}
