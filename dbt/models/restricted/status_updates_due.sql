-- Case-status follow-ups the send flow delivers: one row per victim, report and subject (see
-- int_reports__status_changes) for Group A victims (or victims outside the experiment window)
-- whose `initial` notice was sent and who still pass the safety gate now: their only reasons
-- may be the ones that say time has passed or they were notified (already_notified,
-- stale_report, division_not_live). Channels: those allowed now, minus any whose `initial`
-- message failed. Nothing is due when status_updates is off; the holdout never gets one.
-- Contact details: restricted.
with

changes as (
    select * from {{ ref('int_reports__status_changes') }}
    where {{ var('status_updates') }}
),

evaluated as (
    select * from {{ ref('int_victims__eligibility_evaluated') }}
    where notice_kind = 'initial'
        and reasons <@ array['already_notified', 'stale_report', 'division_not_live']::text []
),

assignments as (
    select * from {{ ref('fct_experiment_assignments') }}
),

outbox as (
    select * from {{ ref('stg_ops__outbox') }}
),

victims as (
    select * from {{ ref('int_persons__deduplicated') }}
),

reports as (
    select * from {{ ref('stg_rms__incidents') }}
),

divisions as (
    select * from {{ ref('stg_config__divisions') }}
),

explanations as (
    select * from {{ ref('offense_explanations') }}
),

codes as (
    select * from {{ ref('nibrs_offense_codes') }}
),

initial_messages as (
    select
        victim_key,
        report_number,
        bool_or(state = 'sent') as was_sent,
        bool_or(channel = 'sms' and state = 'failed') as sms_failed,
        bool_or(channel = 'email' and state = 'failed') as email_failed
    from outbox
    where kind = 'initial'
    group by 1, 2
),

already_queued as (
    select distinct victim_key, report_number, subject
    from outbox
    where kind = 'status_update'
),

reachable as (
    select
        evaluated.*,
        evaluated.can_sms and not initial_messages.sms_failed as use_sms,
        evaluated.can_email and not initial_messages.email_failed as use_email
    from evaluated
    inner join initial_messages
        on evaluated.victim_key = initial_messages.victim_key
        and evaluated.report_number = initial_messages.report_number
    where initial_messages.was_sent
)

select
    reachable.victim_key,
    reachable.report_number,
    reachable.person_seq,
    victims.first_name,
    reachable.message_language as language,
    case when reachable.use_email then reachable.email end as email,
    case when reachable.use_sms then reachable.phone_e164 end as phone_e164,
    array_remove(array[
        case when reachable.use_sms then 'sms' end,
        case when reachable.use_email then 'email' end
    ], null) as channels,
    'status_update' as kind,
    changes.subject,
    changes.change_type,
    changes.case_status,
    changes.assigned_detective,
    reachable.primary_offense_code as offense_code,
    coalesce(explanations.offense_label, codes.offense_name) as offense_name,
    reports.officer_name,
    reports.reported_at,
    reachable.division_code,
    divisions.substation_phone,
    divisions.investigations_phone,
    assignments.arm
from reachable
inner join changes on reachable.report_number = changes.report_number
inner join victims
    on reachable.report_number = victims.report_number and reachable.person_seq = victims.person_seq
inner join reports on reachable.report_number = reports.report_number
inner join divisions on reachable.division_code = divisions.division_code
left join assignments on reachable.victim_key = assignments.victim_key
left join codes on reachable.primary_offense_code = codes.offense_code
left join explanations
    on reachable.primary_offense_code = explanations.offense_code
    and reachable.message_language = explanations.language
left join already_queued
    on reachable.victim_key = already_queued.victim_key
    and reachable.report_number = already_queued.report_number
    and changes.subject = already_queued.subject
where
    already_queued.victim_key is null
    and (reachable.use_sms or reachable.use_email)
    -- The holdout never hears from us; outside the experiment window nobody is held out.
    and coalesce(assignments.arm, 'A') = 'A'
    and (
        assignments.victim_key is not null
        or reachable.reported_date < '{{ var("experiment_start_date") }}'::date
        {%- if var('experiment_end_date') %}
        or reachable.reported_date > '{{ var("experiment_end_date") }}'::date
        {%- endif %}
    )
