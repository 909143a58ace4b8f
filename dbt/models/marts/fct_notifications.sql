-- One row per notification per channel, from the outbox (delivery and engagement events join
-- here when the webhooks record them).
with

outbox as (
    select * from {{ ref('stg_ops__outbox') }}
)

select
    outbox_id,
    victim_key,
    report_number,
    kind,
    channel,
    state,
    state = 'sent' as is_sent,
    state = 'failed' as is_failed,
    created_at,
    date_trunc('month', created_at at time zone '{{ var("agency_time_zone") }}')::date as created_month
from outbox
