-- Replies to our texts without sender or body: what kind of reply, to which message, when.
select
    inbound_id,
    outbox_id,
    kind as reply_kind,
    urgent as is_urgent,
    language,
    received_at
from {{ source('ops', 'inbound_messages') }}
