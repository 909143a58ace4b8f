-- What the send flow delivers: eligible victims in Group A (or outside the experiment window)
-- not yet in the outbox, with every field the message needs; `kind` is the notice (`initial`
-- for victims, `reporting_party` for reporting parties who are not victims). Reporting parties
-- are not randomized: theirs goes only when the report's arm (experiment_bucket, as the
-- assignments compute it) is A, or the report is outside the experiment window. Contact
-- details: restricted.
with

evaluated as (
    select * from {{ ref('int_victims__eligibility_evaluated') }}
    where cardinality(reasons) = 0
),

assignments as (
    select * from {{ ref('fct_experiment_assignments') }}
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
)

select
    evaluated.victim_key,
    evaluated.report_number,
    evaluated.person_seq,
    victims.first_name,
    evaluated.message_language as language,
    case when evaluated.can_email then evaluated.email end as email,
    case when evaluated.can_sms then evaluated.phone_e164 end as phone_e164,
    array_remove(array[
        case when evaluated.can_sms then 'sms' end,
        case when evaluated.can_email then 'email' end
    ], null) as channels,
    evaluated.primary_offense_code as offense_code,
    coalesce(explanations.offense_label, codes.offense_name) as offense_name,
    explanations.explanation,
    explanations.next_steps,
    reports.officer_name,
    reports.reported_at,
    evaluated.division_code,
    divisions.substation_phone,
    divisions.investigations_phone,
    assignments.arm,
    evaluated.notice_kind as kind
from evaluated
inner join victims on evaluated.report_number = victims.report_number and evaluated.person_seq = victims.person_seq
inner join reports on evaluated.report_number = reports.report_number
inner join divisions on evaluated.division_code = divisions.division_code
left join assignments on evaluated.victim_key = assignments.victim_key
left join codes on evaluated.primary_offense_code = codes.offense_code
left join explanations
    on evaluated.primary_offense_code = explanations.offense_code
    and evaluated.message_language = explanations.language
where
    -- The holdout never hears from us; outside the experiment window nobody is held out.
    coalesce(assignments.arm, 'A') = 'A'
    and (
        evaluated.reported_date < '{{ var("experiment_start_date") }}'::date
        {%- if var('experiment_end_date') %}
        or evaluated.reported_date > '{{ var("experiment_end_date") }}'::date
        {%- endif %}
        or (evaluated.notice_kind = 'initial' and assignments.victim_key is not null)
        or (
            evaluated.notice_kind = 'reporting_party'
            and {{ experiment_bucket('evaluated.report_number') }} >= {{ var('holdout_share') }}
        )
    )
