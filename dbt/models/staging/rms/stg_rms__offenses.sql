{{
    config(
        materialized='incremental',
        unique_key='report_number',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[{'columns': ['report_number']}],
    )
}}
-- Offenses of each report from the newest batch that delivered offenses for it.
with

offenses as (
    select * from {{ source('raw', 'offenses') }}
    where {{ only_reports_to_refresh('btrim(report_number)') }}
),

batches as (
    select batch_id from {{ source('ops', 'ingest_batches') }}
    where status = 'loaded' and expectations_passed is distinct from false
),

latest_batch as (
    select btrim(offenses.report_number) as report_number, max(offenses.batch_id) as batch_id
    from offenses
    inner join batches on offenses.batch_id = batches.batch_id
    group by 1
)

select
    latest_batch.report_number,
    offenses.offense_seq::int as offense_seq,
    upper(btrim(offenses.nibrs_code)) as offense_code,
    nullif(btrim(offenses.agency_code), '') as agency_code,
    nullif(btrim(offenses.description), '') as description,
    coalesce({{ contract_bool('offenses.attempted') }}, false) as is_attempted
from offenses
inner join latest_batch
    on btrim(offenses.report_number) = latest_batch.report_number
    and offenses.batch_id = latest_batch.batch_id
