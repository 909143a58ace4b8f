-- Randomized victims of both arms whom the survey may contact today, on which channel, whatever
-- the date: survey_invitations_due adds the timing, the surveys flow reads this again before a
-- reminder. Contact details: restricted.
--
-- Only victims found eligible were randomized (fct_experiment_assignments takes is_eligible
-- rows only), but their evaluation goes on after that: a newer version of the report can flag
-- domestic violence, add a sensitive offense, mark the victim deceased or refusing contact.
-- Every reason excludes the victim again, except the ones that only say time has passed:
--   already_notified  Group A got the first notice, which is why they are in Group A;
--   stale_report      the first notice's age limit; the survey has its own (max_report_age_days);
--   opted_out         re-checked below, per channel, against the opt-outs as they are now.
-- A reason added to the evaluation later excludes by default.
with

assignments as (
    select * from {{ ref('fct_experiment_assignments') }}
    where experiment_name = '{{ var("experiment_name") }}'
),

evaluated as (
    select * from {{ ref('int_victims__eligibility_evaluated') }}
    where notice_kind = 'initial'
        and reasons <@ array['already_notified', 'stale_report', 'opted_out']::text []
),

victims as (
    select * from {{ ref('int_persons__deduplicated') }}
),

opt_outs as (
    select * from {{ ref('stg_ops__opt_outs') }}
),

reachable as (
    select
        evaluated.victim_key,
        case
            when evaluated.has_sms_channel and sms_opt_outs.address is null then evaluated.phone_e164
        end as sms_address,
        case
            when evaluated.has_email_channel and email_opt_outs.address is null then evaluated.email
        end as email_address
    from evaluated
    left join opt_outs as sms_opt_outs
        on sms_opt_outs.channel = 'sms' and evaluated.phone_e164 = sms_opt_outs.address
    left join opt_outs as email_opt_outs
        on email_opt_outs.channel = 'email' and evaluated.email = email_opt_outs.address
),

chosen as (
    select
        *,
        -- A text when the victim has a number we may text, else an email.
        case when sms_address is not null then 'sms' when email_address is not null then 'email' end
            as channel
    from reachable
)

select
    assignments.victim_key,
    evaluated.report_number,
    assignments.experiment_name,
    assignments.arm,
    evaluated.reported_date,
    evaluated.division_code,
    victims.first_name,
    evaluated.message_language as language,
    chosen.channel,
    case chosen.channel when 'sms' then chosen.sms_address else chosen.email_address end as address,
    chosen.sms_address,
    chosen.email_address
from assignments
inner join evaluated on assignments.victim_key = evaluated.victim_key
inner join chosen on assignments.victim_key = chosen.victim_key
inner join victims
    on evaluated.report_number = victims.report_number and evaluated.person_seq = victims.person_seq
where chosen.channel is not null
