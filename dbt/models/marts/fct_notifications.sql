-- One row per notification per channel, from the outbox, with what happened to it afterwards:
-- delivery, opens (the email pixel or the message page), clicks, unsubscribes (email or STOP).
with

outbox as (
    select * from {{ ref('stg_ops__outbox') }}
),

events as (
    select * from {{ ref('stg_ops__events') }}
),

replies as (
    select outbox_id, bool_or(reply_kind = 'opt_out') as replied_stop
    from {{ ref('stg_ops__inbound_replies') }}
    where outbox_id is not null
    group by outbox_id
),

engagement as (
    select
        outbox_id,
        bool_or(event_type = 'delivered') as has_delivered_event,
        bool_or(event_type = 'not_delivered') as has_failed_delivery_event,
        bool_or(event_type in ('opened', 'page_opened', 'clicked')) as is_opened,
        bool_or(event_type = 'page_opened') as is_page_opened,
        bool_or(event_type = 'clicked') as is_clicked,
        bool_or(event_type = 'unsubscribed') as is_unsubscribed,
        min(occurred_at) filter (where event_type in ('opened', 'page_opened', 'clicked')) as first_opened_at
    from events
    where outbox_id is not null
    group by outbox_id
)

select
    outbox.outbox_id,
    outbox.victim_key,
    {{ report_key('outbox.report_number') }} as report_key,
    outbox.kind,
    outbox.channel,
    outbox.state,
    outbox.state = 'sent' as is_sent,
    outbox.state = 'failed' as is_failed,
    outbox.state = 'sent'
    and (outbox.delivery_status in ('delivered', 'read') or coalesce(engagement.has_delivered_event, false))
        as is_delivered,
    outbox.state = 'sent'
    and (
        outbox.delivery_status in ('bounce', 'dropped', 'undelivered', 'failed')
        or coalesce(engagement.has_failed_delivery_event, false)
    ) as is_undelivered,
    coalesce(engagement.is_opened, false) as is_opened,
    coalesce(engagement.is_page_opened, false) as is_page_opened,
    coalesce(engagement.is_clicked, false) as is_clicked,
    coalesce(engagement.is_unsubscribed, false) or coalesce(replies.replied_stop, false) as is_unsubscribed,
    engagement.first_opened_at,
    outbox.created_at,
    outbox.sent_at,
    date_trunc('month', outbox.created_at at time zone '{{ var("agency_time_zone") }}')::date as created_month
from outbox
left join engagement on outbox.outbox_id = engagement.outbox_id
left join replies on outbox.outbox_id = replies.outbox_id
