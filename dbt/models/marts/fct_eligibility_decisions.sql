-- depends_on: {{ ref('stg_rms__incidents') }}
{{
    config(
        materialized='incremental',
        unique_key='report_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[{'columns': ['report_key']}],
    )
}}
-- One row per victim per report (notice_kind `initial`), and per reporting party who is not a
-- victim there (`reporting_party`): the decision and every reason, without names or contacts.
with

evaluated as (
    select * from {{ ref('int_victims__eligibility_evaluated') }}
    where {{ only_reports_to_refresh('report_number', include_open=true) }}
)

select
    victim_key,
    {{ report_key('report_number') }} as report_key,
    notice_kind,
    person_role,
    division_code,
    reported_date,
    date_trunc('month', reported_date)::date as reported_month,
    cardinality(reasons) = 0 as is_eligible,
    reasons,
    reason_not_individual,
    reason_juvenile,
    reason_age_unknown,
    reason_deceased,
    reason_sensitive_offense,
    reason_domestic_violence,
    reason_contact_shared_with_offender,
    reason_no_valid_channel,
    reason_no_consent_basis,
    reason_opted_out,
    reason_unknown_division,
    reason_division_not_live,
    reason_stale_report,
    reason_already_notified,
    reason_offense_not_notifiable,
    reason_report_not_received,
    reason_newer_version_quarantined,
    reason_report_deleted,
    reason_reporting_party_notices_off,
    can_sms,
    can_email,
    message_language,
    contact_source,
    phone_source,
    {{ as_of() }} as decided_at
from evaluated
