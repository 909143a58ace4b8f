{{
    config(
        materialized='incremental',
        unique_key='report_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[{'columns': ['report_key'], 'unique': True}],
    )
}}
-- One row per report (current version), without names or its report number: report_key is keyed
-- (warehouse.keys), so the DV and sensitive-offense flags here lead to no report.
with

reports as (
    select * from {{ ref('stg_rms__incidents') }}
    where {{ only_reports_to_refresh('report_number') }}
),

offense_summary as (
    select * from {{ ref('int_reports__offenses_summarized') }}
),

division_keys as (
    select * from {{ ref('stg_config__division_keys') }}
)

select
    {{ report_key('reports.report_number') }} as report_key,
    division_keys.division_code,
    reports.reported_at,
    (reports.reported_at at time zone '{{ var("agency_time_zone") }}')::date as reported_date,
    date_trunc('month', (reports.reported_at at time zone '{{ var("agency_time_zone") }}'))::date as reported_month,
    reports.case_status,
    reports.is_domestic_violence,
    reports.is_deleted,
    reports.beat,
    reports.officer_id,
    offense_summary.primary_offense_code,
    coalesce(offense_summary.offense_count, 0)::int as offense_count,
    coalesce(offense_summary.has_sensitive_offense, false) as has_sensitive_offense,
    reports.updated_at
from reports
left join offense_summary on reports.report_number = offense_summary.report_number
left join division_keys on reports.division_raw = division_keys.division_key
