-- The answers without the victim's own words: free text may hold names or numbers, so only
-- whether something was written reaches the marts.
select
    invitation_id,
    preferred_text,
    preferred_email,
    preferred_letter,
    preferred_phone,
    likely_to_call,
    service_rating,
    trust_rating,
    coalesce(length(btrim(free_text)) > 0, false) as wrote_free_text,
    completed,
    seconds_on_survey,
    started_at,
    updated_at
from {{ source('ops', 'survey_responses') }}
