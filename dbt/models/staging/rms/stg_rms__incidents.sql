{{
    config(
        materialized='incremental',
        unique_key='report_number',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[{'columns': ['report_number'], 'unique': True}],
    )
}}
-- The version of each report the warehouse uses (stg_rms__report_versions), typed. A report whose
-- newest version is a NIBRS delete stays, flagged, so its victims still get a recorded decision.
with

versions as (
    select * from {{ ref('stg_rms__report_versions') }}
    where incident_batch_id is not null
        and {{ only_reports_to_refresh('report_number') }}
),

incidents as (
    select * from {{ source('raw', 'incidents') }}
    where {{ only_reports_to_refresh('btrim(report_number)') }}
),

current_rows as (
    select
        versions.report_number,
        versions.incident_batch_id as batch_id,
        versions.is_deleted,
        versions.is_newest_version_held,
        versions.version_count,
        versions.first_seen_at,
        incidents.agency_ori,
        incidents.reported_at,
        incidents.occurred_at,
        incidents.division,
        incidents.beat,
        incidents.officer_id,
        incidents.officer_name,
        incidents.case_status,
        incidents.domestic_violence,
        incidents.assigned_detective,
        versions.updated_at
    from versions
    inner join incidents
        on versions.incident_batch_id = incidents.batch_id
        and versions.incident_row_number = incidents.row_number
)

select
    report_number,
    batch_id,
    is_deleted,
    is_newest_version_held,
    version_count,
    first_seen_at,
    nullif(btrim(agency_ori), '') as agency_ori,
    {{ agency_timestamp('reported_at') }} as reported_at,
    {{ agency_timestamp('nullif(btrim(occurred_at), \'\')') }} as occurred_at,
    upper(btrim(division)) as division_raw,
    nullif(btrim(beat), '') as beat,
    nullif(btrim(officer_id), '') as officer_id,
    nullif(btrim(officer_name), '') as officer_name,
    coalesce(lower(nullif(btrim(case_status), '')), 'open') as case_status,
    coalesce({{ contract_bool('domestic_violence') }}, false) as is_domestic_violence,
    nullif(btrim(assigned_detective), '') as assigned_detective,
    updated_at
from current_rows
