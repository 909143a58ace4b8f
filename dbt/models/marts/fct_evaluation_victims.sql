-- The evaluation's input: one row per randomized victim, both arms, with whether the notice was
-- opened (Group A), whether they were invited to and finished the survey, and their answers.
-- The same columns `vnotify evaluate --from-csv` reads.
with

assignments as (
    select * from {{ ref('fct_experiment_assignments') }}
),

reports as (
    select * from {{ ref('dim_reports') }}
),

offense_codes as (
    select * from {{ ref('dim_offense_codes') }}
),

notifications as (
    select * from {{ ref('fct_notifications') }}
),

surveys as (
    select * from {{ ref('fct_survey_responses') }}
),

opened as (
    select victim_key, bool_or(is_opened) as opened
    from notifications
    where kind = 'initial' and is_sent
    group by victim_key
),

invited as (
    select victim_key
    from notifications
    where kind = 'survey' and is_sent
    group by victim_key
)

select
    assignments.victim_key,
    assignments.experiment_name,
    assignments.arm,
    assignments.division_code as division,
    coalesce(offense_codes.offense_category, 'Unknown') as offense_group,
    assignments.reported_month,
    coalesce(opened.opened, false) as opened,
    (invited.victim_key is not null or coalesce(surveys.is_opened, false)) as invited,
    coalesce(surveys.is_completed, false) as responded,
    case when surveys.is_completed then surveys.seconds_on_survey end as seconds_on_survey,
    case when surveys.is_completed then surveys.prefers_text end as prefers_text,
    case when surveys.is_completed then surveys.prefers_email end as prefers_email,
    case when surveys.is_completed then surveys.prefers_letter end as prefers_letter,
    case when surveys.is_completed then surveys.prefers_phone end as prefers_phone,
    case when surveys.is_completed then surveys.likely_to_call end as likely_to_call,
    case when surveys.is_completed then surveys.service_rating end as service_rating,
    case when surveys.is_completed then surveys.trust_rating end as trust_rating,
    coalesce(surveys.is_completed and surveys.wrote_free_text, false) as wrote_free_text
from assignments
left join reports on assignments.report_key = reports.report_key
left join offense_codes on reports.primary_offense_code = offense_codes.offense_code
left join opened on assignments.victim_key = opened.victim_key
left join invited on assignments.victim_key = invited.victim_key
left join surveys
    on assignments.victim_key = surveys.victim_key and assignments.experiment_name = surveys.experiment_name
