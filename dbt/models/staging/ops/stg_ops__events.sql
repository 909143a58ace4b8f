-- Provider and page events, one row each. `detail` is left out: analysts need what and when.
select
    event_id,
    source as event_source,
    case
        when source = 'page' and event = 'opened' then 'page_opened'
        when event in ('open', 'opened') then 'opened'
        when event in ('click', 'clicked') then 'clicked'
        when event in ('unsubscribe', 'group_unsubscribe') then 'unsubscribed'
        when event in ('bounce', 'dropped', 'undelivered', 'failed') then 'not_delivered'
        else event
    end as event_type,
    event as provider_event,
    outbox_id,
    occurred_at
from {{ source('ops', 'events') }}
