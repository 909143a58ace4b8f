-- CAD calls, newest version of each call number; calls without a report are kept. The caller's
-- phone is joined normalized (ops.phone_numbers), like persons' phones. Caller details are PII.
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
),

phones as (
    select * from {{ source('ops', 'phone_numbers') }}
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
    phones.e164 as caller_phone_e164,
    case when phones.is_valid then phones.line_type end as caller_phone_line_type,
    nullif(btrim(disposition), '') as disposition
from ranked
left join phones on ranked.caller_phone = phones.raw_phone and phones.is_valid
where ranked.recency = 1
