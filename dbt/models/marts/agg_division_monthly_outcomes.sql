-- Administrative outcomes per division per month of report, for the staged-rollout comparison:
-- how often someone called the department again about a report after it was filed.
with

reports as (
    select * from {{ ref('dim_reports') }}
    where not is_deleted
),

calls as (
    select *, {{ report_key('report_number') }} as report_key from {{ ref('stg_rms__cad_calls') }}
    where report_number is not null
),

divisions as (
    select * from {{ ref('stg_config__divisions') }}
),

followups as (
    -- A call about a report that came in after the report was filed (the first call made it).
    select reports.report_key, count(*)::int as followup_calls
    from calls
    inner join reports on calls.report_key = reports.report_key
    where calls.received_at > reports.reported_at + interval '1 hour'
    group by reports.report_key
)

select
    reports.division_code,
    reports.reported_month,
    coalesce(date_trunc('month', divisions.go_live_date)::date <= reports.reported_month, false) as is_live,
    divisions.go_live_date,
    count(*)::int as reports,
    coalesce(sum(followups.followup_calls), 0)::int as followup_calls,
    round(100.0 * coalesce(sum(followups.followup_calls), 0) / count(*), 4) as followup_calls_per_100_reports
from reports
left join followups on reports.report_key = followups.report_key
left join divisions on reports.division_code = divisions.division_code
where reports.division_code is not null
group by reports.division_code, reports.reported_month, divisions.go_live_date
