{{
    config(
        materialized='incremental',
        unique_key='report_number',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[{'columns': ['report_number'], 'unique': True}],
    )
}}
-- Which version of each report the warehouse uses, whatever order the exports arrived in.
--
-- A version is an incident row and what was delivered with it: the offenses and people of the
-- report in the same delivery. Versions rank by the incident's updated_at, then the later batch,
-- then the later row. Offenses and people come from the newest version that delivered them (an
-- incident re-exported alone keeps the people of the version before); rows delivered without
-- their incident rank after every version that has one, by batch.
--
-- A NIBRS delete as the newest version flags the report deleted; its fields stay those of the
-- newest version that was not a delete.
--
-- A version is all or nothing. When the newest version of the incident, the offenses or the
-- people has a quarantined row, or comes in a delivery that is not usable (a file rejected,
-- expectations failed or not yet checked), the report is held (`is_newest_version_held`):
-- its victims are decided on nothing older.
with

batches as (
    select * from {{ ref('stg_ops__ingest_batches') }}
),

quarantined as (
    select
        btrim(raw_row ->> 'report_number') as report_number,
        table_name,
        batch_id,
        row_number,
        raw_row ->> 'updated_at' as updated_at
    from {{ source('ops', 'quarantine') }}
    where table_name in ('incidents', 'offenses', 'persons')
        and nullif(btrim(raw_row ->> 'report_number'), '') is not null
        and {{ only_reports_to_refresh("btrim(raw_row ->> 'report_number')") }}
),

incident_rows as (
    select
        btrim(incidents.report_number) as report_number,
        incidents.batch_id,
        incidents.row_number,
        {{ agency_timestamp('incidents.updated_at') }} as updated_at,
        incidents.record_action is not null as is_deleted,
        false as is_quarantined
    from {{ source('raw', 'incidents') }} as incidents
    where {{ only_reports_to_refresh('btrim(incidents.report_number)') }}
    union all
    -- A quarantined incident whose updated_at cannot be read is dated when its batch arrived.
    select
        quarantined.report_number,
        quarantined.batch_id,
        quarantined.row_number,
        coalesce(
            ops.try_agency_timestamptz(quarantined.updated_at, '{{ var("agency_time_zone") }}'),
            batches.started_at
        ) as updated_at,
        false as is_deleted,
        true as is_quarantined
    from quarantined
    inner join batches on quarantined.batch_id = batches.batch_id
    where quarantined.table_name = 'incidents'
),

incident_versions as (
    select
        incident_rows.*,
        batches.delivery_id,
        batches.started_at,
        not incident_rows.is_quarantined and batches.is_usable as is_usable,
        row_number() over (
            partition by incident_rows.report_number
            order by incident_rows.updated_at desc, incident_rows.batch_id desc, incident_rows.row_number desc
        ) as recency
    from incident_rows
    inner join batches on incident_rows.batch_id = batches.batch_id
),

-- The version each delivery holds of a report: its newest incident row there.
delivery_versions as (
    select report_number, delivery_id, min(recency) as recency
    from incident_versions
    group by report_number, delivery_id
),

child_rows as (
    select btrim(report_number) as report_number, 'offenses' as table_name, batch_id, false as is_quarantined
    from {{ source('raw', 'offenses') }}
    where {{ only_reports_to_refresh('btrim(report_number)') }}
    union all
    select btrim(report_number) as report_number, 'persons' as table_name, batch_id, false as is_quarantined
    from {{ source('raw', 'persons') }}
    where {{ only_reports_to_refresh('btrim(report_number)') }}
    union all
    select report_number, table_name, batch_id, true as is_quarantined
    from quarantined
    where table_name in ('offenses', 'persons')
),

-- Per report, table and delivery: how recent the delivery's version is, and whether its rows
-- of that table can all be used.
child_deliveries as (
    select
        child_rows.report_number,
        child_rows.table_name,
        batches.delivery_id,
        delivery_versions.recency as version_recency,
        max(child_rows.batch_id) as last_batch_id,
        bool_and(not child_rows.is_quarantined and batches.is_usable) as is_usable,
        bool_and(batches.is_usable) as is_delivery_usable
    from child_rows
    inner join batches on child_rows.batch_id = batches.batch_id
    left join delivery_versions
        on child_rows.report_number = delivery_versions.report_number
        and batches.delivery_id = delivery_versions.delivery_id
    group by child_rows.report_number, child_rows.table_name, batches.delivery_id, delivery_versions.recency
),

ranked_child_deliveries as (
    select
        *,
        row_number() over (
            partition by report_number, table_name
            order by version_recency asc nulls last, last_batch_id desc
        ) as recency,
        row_number() over (
            partition by report_number, table_name, is_delivery_usable
            order by version_recency asc nulls last, last_batch_id desc
        ) as usable_recency
    from child_deliveries
),

children as (
    select
        report_number,
        bool_or(table_name = 'offenses' and recency = 1 and not is_usable) as are_offenses_held,
        bool_or(table_name = 'persons' and recency = 1 and not is_usable) as are_persons_held,
        max(delivery_id) filter (
            where table_name = 'offenses' and is_delivery_usable and usable_recency = 1
        ) as offenses_delivery_id,
        max(delivery_id) filter (
            where table_name = 'persons' and is_delivery_usable and usable_recency = 1
        ) as persons_delivery_id
    from ranked_child_deliveries
    group by report_number
),

incidents as (
    select
        report_number,
        bool_or(recency = 1 and not is_usable) as is_incident_held,
        count(distinct updated_at) filter (where is_usable and not is_deleted) as version_count,
        min(started_at) as first_seen_at
    from incident_versions
    group by report_number
),

-- The newest incident row the warehouse may read (older than a held one when the report is held),
-- and whether that version deletes the report; the fields come from the newest that does not.
usable_incidents as (
    select
        *,
        row_number() over (partition by report_number order by recency) as usable_recency,
        row_number() over (partition by report_number, is_deleted order by recency) as kept_recency
    from incident_versions
    where is_usable
),

reports as (
    select report_number from incidents
    union
    select report_number from children
)

select
    reports.report_number,
    kept_incidents.batch_id as incident_batch_id,
    kept_incidents.row_number as incident_row_number,
    newest_incidents.updated_at,
    coalesce(newest_incidents.is_deleted, false) as is_deleted,
    children.offenses_delivery_id,
    children.persons_delivery_id,
    coalesce(incidents.is_incident_held, false)
    or coalesce(children.are_offenses_held, false)
    or coalesce(children.are_persons_held, false) as is_newest_version_held,
    coalesce(incidents.version_count, 0) as version_count,
    incidents.first_seen_at
from reports
left join incidents on reports.report_number = incidents.report_number
left join usable_incidents as newest_incidents
    on reports.report_number = newest_incidents.report_number
    and newest_incidents.usable_recency = 1
left join usable_incidents as kept_incidents
    on reports.report_number = kept_incidents.report_number
    and not kept_incidents.is_deleted
    and kept_incidents.kept_recency = 1
left join children on reports.report_number = children.report_number
