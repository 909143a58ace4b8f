select outbox_id, victim_key, report_number, kind, channel, state, created_at, updated_at
from {{ source('ops', 'outbox') }}
