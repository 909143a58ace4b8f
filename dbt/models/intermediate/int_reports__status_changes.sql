-- Per report, the change a notified victim may hear about: the CURRENT version's case status
-- (one of status_update_statuses) when an earlier version of the report had another status, and
-- its assigned detective when an earlier version named none or someone else. Only the current
-- version counts, so a flip-flop (suspended -> open -> suspended) or a burst of re-exports gives
-- the same subject again, and the outbox's unique key makes that one message.
-- subject: the new status, or `detective:<lower(trimmed name)>`; changed_at: when the current
-- value first appeared after the last version that differed.
with

-- Only a report delivered in more than one version can have changed; a held report waits.
current_reports as (
    select * from {{ ref('stg_rms__incidents') }}
    where version_count > 1 and not is_deleted and not is_newest_version_held
),

incidents as (
    select * from {{ source('raw', 'incidents') }}
),

batches as (
    select batch_id from {{ ref('stg_ops__ingest_batches') }}
    where is_usable
),

-- Every usable version of the reports that are current now (a version re-sent unchanged is
-- harmless; one older than the current is ignored, whenever it arrived).
versions as (
    select
        btrim(incidents.report_number) as report_number,
        ops.agency_timestamptz(incidents.updated_at, '{{ var("agency_time_zone") }}') as updated_at,
        coalesce(lower(nullif(btrim(incidents.case_status), '')), 'open') as case_status,
        lower(nullif(btrim(incidents.assigned_detective), '')) as detective_key
    from incidents
    inner join batches on incidents.batch_id = batches.batch_id
    inner join current_reports on btrim(incidents.report_number) = current_reports.report_number
    where incidents.record_action is null
),

current_values as (
    select
        report_number,
        case_status,
        assigned_detective,
        lower(assigned_detective) as detective_key,
        updated_at
    from current_reports
),

status_changes as (
    select
        current_values.report_number,
        current_values.case_status as subject,
        'case_status' as change_type,
        current_values.case_status,
        current_values.assigned_detective,
        current_values.updated_at,
        max(case when versions.case_status <> current_values.case_status then versions.updated_at end)
            as last_different_at
    from current_values
    inner join versions
        on current_values.report_number = versions.report_number
        and current_values.updated_at >= versions.updated_at
    where current_values.case_status in (
        {%- for status in var('status_update_statuses') %}'{{ status }}'{{ "," if not loop.last }}{% endfor -%}
        {%- if not var('status_update_statuses') %}null{% endif -%}
    )
    group by
        current_values.report_number,
        current_values.case_status,
        current_values.detective_key,
        current_values.assigned_detective,
        current_values.updated_at
),

detective_changes as (
    select
        current_values.report_number,
        'detective:' || current_values.detective_key as subject,
        'detective' as change_type,
        current_values.case_status,
        current_values.assigned_detective,
        current_values.updated_at,
        max(
            case when versions.detective_key is distinct from current_values.detective_key then versions.updated_at end
        ) as last_different_at
    from current_values
    inner join versions
        on current_values.report_number = versions.report_number
        and current_values.updated_at >= versions.updated_at
    where current_values.detective_key is not null
    group by
        current_values.report_number,
        current_values.case_status,
        current_values.detective_key,
        current_values.assigned_detective,
        current_values.updated_at
),

changes as (
    select * from status_changes
    where last_different_at is not null
    union all
    select * from detective_changes
    where last_different_at is not null
)

select
    changes.report_number,
    changes.subject,
    changes.change_type,
    changes.case_status,
    changes.assigned_detective,
    coalesce(
        min(case when versions.updated_at > changes.last_different_at then versions.updated_at end),
        changes.updated_at
    ) as changed_at
from changes
inner join versions
    on changes.report_number = versions.report_number
    and changes.updated_at >= versions.updated_at
group by
    changes.report_number,
    changes.subject,
    changes.change_type,
    changes.case_status,
    changes.assigned_detective,
    changes.updated_at
