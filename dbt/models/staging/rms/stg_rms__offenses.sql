{{
    config(
        materialized='incremental',
        unique_key='report_number',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[{'columns': ['report_number']}],
    )
}}
-- Offenses of each report from the version the warehouse uses (stg_rms__report_versions).
with

offenses as (
    select * from {{ source('raw', 'offenses') }}
    where {{ only_reports_to_refresh('btrim(report_number)') }}
),

batches as (
    select * from {{ ref('stg_ops__ingest_batches') }}
),

versions as (
    select * from {{ ref('stg_rms__report_versions') }}
    where {{ only_reports_to_refresh('report_number') }}
)

select
    versions.report_number,
    offenses.offense_seq::int as offense_seq,
    upper(btrim(offenses.nibrs_code)) as offense_code,
    nullif(btrim(offenses.agency_code), '') as agency_code,
    nullif(btrim(offenses.description), '') as description,
    coalesce({{ contract_bool('offenses.attempted') }}, false) as is_attempted
from offenses
inner join batches on offenses.batch_id = batches.batch_id
inner join versions
    on btrim(offenses.report_number) = versions.report_number
    and batches.delivery_id = versions.offenses_delivery_id
