-- CAD calls, the newest version of each call number; calls without a report are kept. A call's
-- rows rank by the version of their report delivered with them (its incident's updated_at), then
-- by batch and row. When the newest is quarantined or in a delivery that is not usable, the call
-- is held out. The caller's phone is joined normalized (ops.phone_numbers), like persons'
-- phones. Caller details are PII.
with

batches as (
    select * from {{ ref('stg_ops__ingest_batches') }}
),

call_rows as (
    select
        btrim(call_number) as call_number,
        nullif(btrim(report_number), '') as report_number,
        batch_id,
        row_number,
        false as is_quarantined
    from {{ source('raw', 'cad_calls') }}
    union all
    select
        btrim(raw_row ->> 'call_number') as call_number,
        nullif(btrim(raw_row ->> 'report_number'), '') as report_number,
        batch_id,
        row_number,
        true as is_quarantined
    from {{ source('ops', 'quarantine') }}
    where table_name = 'cad_calls' and nullif(btrim(raw_row ->> 'call_number'), '') is not null
),

-- Only a call delivered more than once needs its versions dated.
repeated_calls as (
    select call_number
    from call_rows
    group by call_number
    having count(*) > 1
),

report_versions_delivered as (
    select
        btrim(incidents.report_number) as report_number,
        batches.delivery_id,
        max({{ agency_timestamp('incidents.updated_at') }}) as updated_at
    from {{ source('raw', 'incidents') }} as incidents
    inner join batches on incidents.batch_id = batches.batch_id
    where btrim(incidents.report_number) in (
        select call_rows.report_number from call_rows
        inner join repeated_calls on call_rows.call_number = repeated_calls.call_number
    )
    group by btrim(incidents.report_number), batches.delivery_id
),

ranked as (
    select
        call_rows.*,
        not call_rows.is_quarantined and batches.is_usable as is_usable,
        row_number() over (
            partition by call_rows.call_number
            order by delivered.updated_at desc nulls last, call_rows.batch_id desc, call_rows.row_number desc
        ) as recency
    from call_rows
    inner join batches on call_rows.batch_id = batches.batch_id
    left join report_versions_delivered as delivered
        on call_rows.report_number = delivered.report_number
        and batches.delivery_id = delivered.delivery_id
),

calls as (
    select raw_calls.*
    from {{ source('raw', 'cad_calls') }} as raw_calls
    inner join ranked
        on raw_calls.batch_id = ranked.batch_id
        and raw_calls.row_number = ranked.row_number
        and not ranked.is_quarantined
    where ranked.recency = 1 and ranked.is_usable
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
from calls
left join phones on calls.caller_phone = phones.raw_phone and phones.is_valid
