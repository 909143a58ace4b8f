-- The outbox without addresses, tokens or payloads: what was sent, when, and how it ended.
select
    outbox_id,
    victim_key,
    report_number,
    kind,
    subject,
    channel,
    state,
    delivery_status,
    created_at,
    sent_at,
    updated_at
from {{ source('ops', 'outbox') }}
