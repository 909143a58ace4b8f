-- CAD calls, newest version of each call number; calls without a report are kept.
with

calls as (
    select * from {{ source('raw', 'cad_calls') }}
),

batches as (
    select batch_id from {{ source('ops', 'ingest_batches') }}
    where status = 'loaded' and expectations_passed is distinct from false
),

ranked as (
    select
        calls.*,
        row_number() over (partition by btrim(calls.call_number) order by calls.batch_id desc, calls.row_number desc)
            as recency
    from calls
    inner join batches on calls.batch_id = batches.batch_id
)

select
    btrim(call_number) as call_number,
    nullif(btrim(report_number), '') as report_number,
    {{ agency_timestamp('received_at') }} as received_at,
    nullif(btrim(call_type), '') as call_type,
    nullif(btrim(priority), '') as priority,
    upper(nullif(btrim(division), '')) as division_raw,
    nullif(btrim(caller_name), '') as caller_name,
    nullif(btrim(caller_phone), '') as caller_phone_raw,
    nullif(btrim(disposition), '') as disposition
from ranked
where recency = 1
