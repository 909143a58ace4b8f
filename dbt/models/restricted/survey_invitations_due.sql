-- Who the surveys flow invites now: survey recipients of both arms whose report is
-- survey_delay_days old (agency dates) but not older than survey_max_report_age_days, and who
-- have not been invited in this experiment. Contact details: restricted.
with

recipients as (
    select * from {{ ref('survey_recipients') }}
),

invitations as (
    select * from {{ ref('stg_ops__survey_invitations') }}
),

today as (
    select ({{ as_of() }} at time zone '{{ var("agency_time_zone") }}')::date as agency_date
)

select
    recipients.victim_key,
    recipients.report_number,
    recipients.experiment_name,
    recipients.arm,
    recipients.reported_date,
    recipients.division_code,
    recipients.first_name,
    recipients.language,
    recipients.channel,
    recipients.address
from recipients
cross join today
left join invitations
    on recipients.victim_key = invitations.victim_key
    and recipients.experiment_name = invitations.experiment_name
where
    invitations.victim_key is null
    and recipients.reported_date + {{ var('survey_delay_days') }} <= today.agency_date
    and recipients.reported_date >= today.agency_date - {{ var('survey_max_report_age_days') }}
