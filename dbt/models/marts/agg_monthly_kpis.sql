-- The figures by the numbers, per month of report and notice kind: who could be notified, who
-- was, and what the messages achieved (delivery, email opens, unsubscribes). The evaluation's
-- victim figures are the `initial` rows (victims' first notices); `reporting_party`,
-- `status_update`, `survey` and `survey_reminder` rows count those messages separately.
with

decisions as (
    select * from {{ ref('fct_eligibility_decisions') }}
),

notifications as (
    select * from {{ ref('fct_notifications') }}
    where is_sent
),

-- The month of report of every person a message can go to (victims and reporting parties).
people as (
    select
        victim_key,
        reported_month
    from decisions
),

sent_messages as (
    select
        notifications.kind as notice_kind,
        people.reported_month,
        notifications.victim_key,
        notifications.channel,
        notifications.is_delivered,
        notifications.is_opened,
        notifications.is_unsubscribed
    from notifications
    inner join people on notifications.victim_key = people.victim_key
),

-- Each person messaged, once per kind.
notified_people as (
    select
        notice_kind,
        reported_month,
        victim_key,
        bool_or(channel = 'email') as by_email,
        bool_or(channel = 'sms') as by_sms,
        bool_or(is_unsubscribed) as unsubscribed
    from sent_messages
    group by notice_kind, reported_month, victim_key
),

-- Everyone with an eligibility decision: victims (initial) and reporting parties who are not
-- victims (reporting_party). Follow-ups and surveys have no decision of their own.
decided as (
    select
        notice_kind,
        reported_month,
        count(*)::int as victims,
        count(*) filter (where is_eligible)::int as victims_eligible,
        count(*) filter (where reason_opted_out)::int as victims_opted_out
    from decisions
    group by notice_kind, reported_month
),

notified as (
    select
        notice_kind,
        reported_month,
        count(*)::int as victims_notified,
        count(*) filter (where unsubscribed)::int as victims_unsubscribed,
        round(avg(by_email::int), 4) as share_notified_by_email,
        round(avg(by_sms::int), 4) as share_notified_by_sms
    from notified_people
    group by notice_kind, reported_month
),

messages as (
    select
        notice_kind,
        reported_month,
        count(*)::int as messages_sent,
        count(*) filter (where is_delivered)::int as messages_delivered,
        count(*) filter (where channel = 'email')::int as emails_sent,
        count(*) filter (where channel = 'email' and is_opened)::int as emails_opened
    from sent_messages
    group by notice_kind, reported_month
),

months_and_kinds as (
    select
        notice_kind,
        reported_month
    from decided
    union
    select
        notice_kind,
        reported_month
    from messages
),

figures as (
    select
        months_and_kinds.reported_month,
        months_and_kinds.notice_kind,
        decided.victims,
        decided.victims_eligible,
        coalesce(notified.victims_notified, 0) as victims_notified,
        notified.share_notified_by_email,
        notified.share_notified_by_sms,
        decided.victims_opted_out,
        coalesce(messages.messages_sent, 0) as messages_sent,
        coalesce(messages.messages_delivered, 0) as messages_delivered,
        coalesce(messages.emails_sent, 0) as emails_sent,
        coalesce(messages.emails_opened, 0) as emails_opened,
        coalesce(notified.victims_unsubscribed, 0) as victims_unsubscribed
    from months_and_kinds
    left join decided
        on
            months_and_kinds.notice_kind = decided.notice_kind
            and months_and_kinds.reported_month is not distinct from decided.reported_month
    left join notified
        on
            months_and_kinds.notice_kind = notified.notice_kind
            and months_and_kinds.reported_month is not distinct from notified.reported_month
    left join messages
        on
            months_and_kinds.notice_kind = messages.notice_kind
            and months_and_kinds.reported_month is not distinct from messages.reported_month
)

select
    reported_month,
    notice_kind,
    victims,
    victims_eligible,
    victims_notified,
    share_notified_by_email,
    share_notified_by_sms,
    victims_opted_out,
    messages_sent,
    messages_delivered,
    emails_sent,
    emails_opened,
    victims_unsubscribed,
    round(emails_opened::numeric / nullif(emails_sent, 0), 4) as email_open_rate,
    round(messages_delivered::numeric / nullif(messages_sent, 0), 4) as delivery_rate,
    round(victims_unsubscribed::numeric / nullif(victims_notified, 0), 6) as unsubscribe_rate
from figures
