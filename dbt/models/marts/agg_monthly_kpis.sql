-- The figures by the numbers, per month of report: who could be notified, who was, and what
-- the messages achieved (delivery, email opens, unsubscribes). Initial notices only.
with

decisions as (
    select * from {{ ref('fct_eligibility_decisions') }}
),

notifications as (
    select * from {{ ref('fct_notifications') }}
    where kind = 'initial' and is_sent
),

sent as (
    select
        victim_key,
        bool_or(channel = 'email') as by_email,
        bool_or(channel = 'sms') as by_sms,
        bool_or(is_unsubscribed) as unsubscribed
    from notifications
    group by victim_key
),

messages as (
    select
        decisions.reported_month,
        count(*)::int as messages_sent,
        count(*) filter (where notifications.is_delivered)::int as messages_delivered,
        count(*) filter (where notifications.channel = 'email')::int as emails_sent,
        count(*) filter (where notifications.channel = 'email' and notifications.is_opened)::int as emails_opened
    from notifications
    inner join decisions on notifications.victim_key = decisions.victim_key
    group by decisions.reported_month
),

victims as (
    select
        decisions.reported_month,
        count(*)::int as victims,
        count(*) filter (where decisions.is_eligible)::int as victims_eligible,
        count(sent.victim_key)::int as victims_notified,
        count(*) filter (where sent.unsubscribed)::int as victims_unsubscribed,
        round(avg(case when sent.victim_key is not null then sent.by_email::int end), 4) as share_notified_by_email,
        round(avg(case when sent.victim_key is not null then sent.by_sms::int end), 4) as share_notified_by_sms,
        count(*) filter (where decisions.reason_opted_out)::int as victims_opted_out
    from decisions
    left join sent on decisions.victim_key = sent.victim_key
    group by decisions.reported_month
)

select
    victims.reported_month,
    victims.victims,
    victims.victims_eligible,
    victims.victims_notified,
    victims.share_notified_by_email,
    victims.share_notified_by_sms,
    victims.victims_opted_out,
    coalesce(messages.messages_sent, 0) as messages_sent,
    coalesce(messages.messages_delivered, 0) as messages_delivered,
    coalesce(messages.emails_sent, 0) as emails_sent,
    coalesce(messages.emails_opened, 0) as emails_opened,
    victims.victims_unsubscribed,
    round(messages.emails_opened::numeric / nullif(messages.emails_sent, 0), 4) as email_open_rate,
    round(messages.messages_delivered::numeric / nullif(messages.messages_sent, 0), 4) as delivery_rate,
    round(victims.victims_unsubscribed::numeric / nullif(victims.victims_notified, 0), 6) as unsubscribe_rate
from victims
left join messages on victims.reported_month = messages.reported_month
