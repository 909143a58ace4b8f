-- One row per survey invitation: who was asked (hashed), in which arm and by which channel, whether
-- they opened and finished it, and their answers. The victim's own words stay in ops; only
-- whether they wrote something reaches the marts.
with

invitations as (
    select * from {{ ref('stg_ops__survey_invitations') }}
),

responses as (
    select * from {{ ref('stg_ops__survey_responses') }}
)

select
    invitations.invitation_id,
    invitations.victim_key,
    {{ report_key('invitations.report_number') }} as report_key,
    invitations.experiment_name,
    invitations.arm,
    invitations.channel,
    invitations.language,
    invitations.invited_at,
    invitations.first_opened_at,
    invitations.completed_at,
    invitations.first_opened_at is not null as is_opened,
    coalesce(responses.completed, false) as is_completed,
    responses.seconds_on_survey,
    -- A finished survey with a box left unticked means "not this way".
    case when responses.completed then coalesce(responses.preferred_text, false) else responses.preferred_text end
        as prefers_text,
    case when responses.completed then coalesce(responses.preferred_email, false) else responses.preferred_email end
        as prefers_email,
    case when responses.completed then coalesce(responses.preferred_letter, false) else responses.preferred_letter end
        as prefers_letter,
    case when responses.completed then coalesce(responses.preferred_phone, false) else responses.preferred_phone end
        as prefers_phone,
    responses.likely_to_call,
    responses.service_rating,
    responses.trust_rating,
    coalesce(responses.wrote_free_text, false) as wrote_free_text
from invitations
left join responses on invitations.invitation_id = responses.invitation_id
