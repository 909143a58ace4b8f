{{
    config(
        materialized='incremental',
        unique_key='report_number',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[{'columns': ['report_number']}],
    )
}}
-- Every victim on every report, with every rule that keeps the department from messaging
-- them. The victim-safety gate: a reason here is never overridden downstream.
with

victims as (
    select * from {{ ref('int_persons__deduplicated') }}
    where role = 'victim' and {{ only_reports_to_refresh('report_number', include_open=true) }}
),

people as (
    select * from {{ ref('stg_rms__persons') }}
    where {{ only_reports_to_refresh('report_number', include_open=true) }}
),

reports as (
    select * from {{ ref('stg_rms__incidents') }}
),

offense_summary as (
    select * from {{ ref('int_reports__offenses_summarized') }}
),

division_keys as (
    select * from {{ ref('stg_config__division_keys') }}
),

divisions as (
    select * from {{ ref('stg_config__divisions') }}
),

opt_outs as (
    select * from {{ ref('stg_ops__opt_outs') }}
),

outbox as (
    select * from {{ ref('stg_ops__outbox') }}
),

-- Anyone who may be the offender: their phone or email must never receive the victim's message.
offender_contacts as (
    select distinct report_number, phone_e164, email
    from people
    where role in ('offender', 'suspect', 'arrestee')
),

joined as (
    select
        victims.report_number,
        victims.person_seq,
        {{ victim_key('victims.report_number', 'victims.person_seq') }} as victim_key,
        reports.report_number is null as is_report_missing,
        coalesce(reports.is_deleted, false) as is_report_deleted,
        reports.reported_at,
        (reports.reported_at at time zone '{{ var("agency_time_zone") }}')::date as reported_date,
        reports.first_seen_at,
        division_keys.division_code,
        divisions.go_live_date,
        victims.victim_type,
        coalesce(victims.age, date_part('year', age((reports.reported_at at time zone '{{ var("agency_time_zone") }}')::date, victims.birth_date))::int)
            as age_at_report,
        victims.is_deceased,
        coalesce(offense_summary.has_sensitive_offense, false) as has_sensitive_offense,
        coalesce(offense_summary.has_notifiable_offense, false) as has_notifiable_offense,
        offense_summary.primary_offense_code,
        coalesce(reports.is_domestic_violence, false) as is_domestic_violence,
        victims.phone_e164,
        victims.phone_line_type,
        victims.email,
        victims.contact_consent,
        victims.language,
        {{ var('sms_enabled') }} and victims.phone_e164 is not null
            and victims.phone_line_type in ('mobile', 'unknown') as has_sms_channel,
        {{ var('email_enabled') }} and victims.email is not null as has_email_channel
    from victims
    left join reports on victims.report_number = reports.report_number
    left join offense_summary on victims.report_number = offense_summary.report_number
    left join division_keys on reports.division_raw = division_keys.division_key
    left join divisions on division_keys.division_code = divisions.division_code
),

-- Joins, not correlated subqueries: each lookup is computed once for all victims.
shared_contacts as (
    select distinct joined.report_number, joined.person_seq
    from joined
    inner join offender_contacts as o
        on joined.report_number = o.report_number
        and ((joined.phone_e164 is not null and joined.phone_e164 = o.phone_e164)
            or (joined.email is not null and joined.email = o.email))
),

notified as (
    select distinct victim_key, report_number
    from outbox
    where kind = 'initial'
),

with_contact_checks as (
    select
        joined.*,
        shared_contacts.person_seq is not null as shares_contact_with_offender,
        joined.has_sms_channel and sms_opt_outs.address is not null as is_sms_opted_out,
        joined.has_email_channel and email_opt_outs.address is not null as is_email_opted_out,
        notified.victim_key is not null as is_already_notified
    from joined
    left join shared_contacts
        on joined.report_number = shared_contacts.report_number and joined.person_seq = shared_contacts.person_seq
    left join opt_outs as sms_opt_outs
        on sms_opt_outs.channel = 'sms' and joined.phone_e164 = sms_opt_outs.address
    left join opt_outs as email_opt_outs
        on email_opt_outs.channel = 'email' and joined.email = email_opt_outs.address
    left join notified
        on joined.victim_key = notified.victim_key and joined.report_number = notified.report_number
),

reasons as (
    select
        *,
        coalesce(victim_type, '') <> 'individual' as reason_not_individual,
        coalesce(age_at_report < {{ var('minimum_age') }}, false) as reason_juvenile,
        is_deceased as reason_deceased,
        has_sensitive_offense as reason_sensitive_offense,
        is_domestic_violence as reason_domestic_violence,
        shares_contact_with_offender as reason_contact_shared_with_offender,
        not(has_sms_channel or has_email_channel) as reason_no_valid_channel,
        coalesce(contact_consent = false, false)
            {%- if not var('contact_given_to_officer_counts_as_consent') %} or contact_consent is null{% endif %}
            as reason_no_consent_basis,
        (has_sms_channel or has_email_channel)
            and (not has_sms_channel or is_sms_opted_out)
            and (not has_email_channel or is_email_opted_out) as reason_opted_out,
        go_live_date is null or reported_date is null or reported_date < go_live_date as reason_division_not_live,
        coalesce(reported_at < {{ as_of() }} - interval '{{ var("max_report_age_days") }} days', false)
            as reason_stale_report,
        is_already_notified as reason_already_notified,
        not has_notifiable_offense as reason_offense_not_notifiable,
        is_report_missing as reason_report_not_received,
        is_report_deleted as reason_report_deleted
    from with_contact_checks
),

decided as (
select
    *,
    array_remove(array[
        case when reason_not_individual then 'not_individual' end,
        case when reason_juvenile then 'juvenile' end,
        case when reason_deceased then 'deceased' end,
        case when reason_sensitive_offense then 'sensitive_offense' end,
        case when reason_domestic_violence then 'domestic_violence' end,
        case when reason_contact_shared_with_offender then 'contact_shared_with_offender' end,
        case when reason_no_valid_channel then 'no_valid_channel' end,
        case when reason_no_consent_basis then 'no_consent_basis' end,
        case when reason_opted_out then 'opted_out' end,
        case when reason_division_not_live then 'division_not_live' end,
        case when reason_stale_report then 'stale_report' end,
        case when reason_already_notified then 'already_notified' end,
        case when reason_offense_not_notifiable then 'offense_not_notifiable' end,
        case when reason_report_not_received then 'report_not_received' end,
        case when reason_report_deleted then 'report_deleted' end
    ], null) as reasons,
    has_sms_channel and not is_sms_opted_out as can_sms,
    has_email_channel and not is_email_opted_out as can_email,
    case
        when language in ({% for l in var('languages') %}'{{ l }}'{{ "," if not loop.last }}{% endfor %}) then language
        when split_part(language, '-', 1) in ({% for l in var('languages') %}'{{ l }}'{{ "," if not loop.last }}{% endfor %})
            then split_part(language, '-', 1)
        else '{{ var("default_language") }}'
    end as message_language,
    'rms' as contact_source
from reasons
)

select *, array_to_string(reasons, ',') as reason_list
from decided
