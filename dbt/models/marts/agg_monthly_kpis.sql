-- The figures by the numbers, per month of report.
with

decisions as (
    select * from {{ ref('fct_eligibility_decisions') }}
),

notifications as (
    select * from {{ ref('fct_notifications') }}
),

sent as (
    select
        victim_key,
        bool_or(channel = 'email') as by_email,
        bool_or(channel = 'sms') as by_sms
    from notifications
    where is_sent and kind = 'initial'
    group by victim_key
)

select
    decisions.reported_month,
    count(*)::int as victims,
    count(*) filter (where decisions.is_eligible)::int as victims_eligible,
    count(sent.victim_key)::int as victims_notified,
    round(avg(case when sent.victim_key is not null then sent.by_email::int end), 4) as share_notified_by_email,
    round(avg(case when sent.victim_key is not null then sent.by_sms::int end), 4) as share_notified_by_sms,
    count(*) filter (where decisions.reason_opted_out)::int as victims_opted_out
from decisions
left join sent on decisions.victim_key = sent.victim_key
group by decisions.reported_month
