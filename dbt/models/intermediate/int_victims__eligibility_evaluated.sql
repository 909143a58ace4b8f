{{
    config(
        materialized='incremental',
        unique_key='report_number',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[{'columns': ['report_number']}],
    )
}}
-- Every victim on every report, and every reporting party who is not also a victim there, with
-- every rule that keeps the department from messaging them. The victim-safety gate: a reason
-- here is never overridden downstream. notice_kind says which notice the row decides: a
-- victim's `initial` notice or a `reporting_party` notice.
--
-- Contact from dispatch: a person with no usable RMS phone (none valid, or a landline) who was
-- the caller on the report's CAD call gets the caller's phone (phone_source `cad`) when
-- cad_caller_phone is on and consent allows it: never after a refusal (N), with unknown consent
-- only when caller_phone_counts_as_consent. That phone then meets every check the RMS one would.
with

persons as (
    select * from {{ ref('int_persons__deduplicated') }}
    where role in ('victim', 'reporting_party')
        and {{ only_reports_to_refresh('report_number', include_open=true) }}
),

cad_matches as (
    select * from {{ ref('int_persons__cad_caller_matched') }}
),

people as (
    select * from {{ ref('stg_rms__persons') }}
    where {{ only_reports_to_refresh('report_number', include_open=true) }}
),

reports as (
    select * from {{ ref('stg_rms__incidents') }}
),

versions as (
    select * from {{ ref('stg_rms__report_versions') }}
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

-- The phone each person is reached on: the RMS one when usable, else the CAD caller's.
contacted as (
    select
        persons.*,
        persons.phone_e164 as rms_phone_e164,
        coalesce(
            {{ var('cad_caller_phone') }}
            and cad_matches.cad_phone_line_type in ('mobile', 'unknown')
            and (persons.phone_e164 is null or persons.phone_line_type = 'landline')
            -- The RMS number typed as a landline is not made textable by CAD's copy of it.
            and cad_matches.cad_phone_e164 is distinct from persons.phone_e164
            and coalesce(persons.contact_consent, {{ var('caller_phone_counts_as_consent') }}),
            false
        ) as uses_cad_phone,
        cad_matches.cad_phone_e164,
        cad_matches.cad_phone_line_type
    from persons
    left join cad_matches
        on persons.report_number = cad_matches.report_number and persons.person_seq = cad_matches.person_seq
),

with_phone as (
    select
        contacted.*,
        {{ normalized_name("coalesce(contacted.first_name, '') || ' ' || coalesce(contacted.last_name, '')") }}
            as name_key,
        case when contacted.uses_cad_phone then contacted.cad_phone_e164 else contacted.rms_phone_e164 end
            as contact_phone_e164,
        case when contacted.uses_cad_phone then contacted.cad_phone_line_type else contacted.phone_line_type end
            as contact_phone_line_type,
        case when contacted.uses_cad_phone then 'cad' when contacted.rms_phone_e164 is not null then 'rms' end
            as phone_source
    from contacted
),

-- A reporting party who is also a victim on the report (same name, phone or e-mail) hears as a
-- victim only.
victims_on_report as (
    select report_number, name_key, rms_phone_e164, contact_phone_e164, email
    from with_phone
    where role = 'victim'
),

reporting_parties_also_victims as (
    select distinct rp.report_number, rp.person_seq
    from with_phone as rp
    inner join victims_on_report as v
        on rp.report_number = v.report_number
        and (
            rp.name_key = v.name_key
            or rp.email = v.email
            or rp.rms_phone_e164 in (v.rms_phone_e164, v.contact_phone_e164)
            or rp.contact_phone_e164 in (v.rms_phone_e164, v.contact_phone_e164)
        )
    where rp.role = 'reporting_party'
),

victims as (
    select
        with_phone.*,
        case when with_phone.role = 'victim' then 'initial' else 'reporting_party' end as notice_kind
    from with_phone
    left join reporting_parties_also_victims as also_victims
        on with_phone.report_number = also_victims.report_number
        and with_phone.person_seq = also_victims.person_seq
    where also_victims.person_seq is null
),

joined as (
    select
        victims.report_number,
        victims.person_seq,
        victims.notice_kind,
        victims.role as person_role,
        {{ victim_key('victims.report_number', 'victims.person_seq') }} as victim_key,
        reports.report_number is null as is_report_missing,
        coalesce(versions.is_deleted, false) as is_report_deleted,
        coalesce(versions.is_newest_version_held, false) as is_newest_version_held,
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
        victims.contact_phone_e164 as phone_e164,
        victims.contact_phone_line_type as phone_line_type,
        victims.rms_phone_e164,
        victims.phone_source,
        victims.email,
        victims.contact_consent,
        victims.language,
        {{ var('sms_enabled') }} and victims.contact_phone_e164 is not null
            and victims.contact_phone_line_type in ('mobile', 'unknown') as has_sms_channel,
        {{ var('email_enabled') }} and victims.email is not null as has_email_channel
    from victims
    left join reports on victims.report_number = reports.report_number
    left join versions on victims.report_number = versions.report_number
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
        and (o.phone_e164 in (joined.phone_e164, joined.rms_phone_e164)
            or (joined.email is not null and joined.email = o.email))
),

notified as (
    select distinct victim_key, report_number, kind
    from outbox
    where kind in ('initial', 'reporting_party')
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
        on joined.victim_key = notified.victim_key
        and joined.report_number = notified.report_number
        and joined.notice_kind = notified.kind
),

reasons as (
    select
        *,
        -- Reporting parties usually carry no victim_type: none counts as an individual for them only.
        case
            when notice_kind = 'reporting_party' then coalesce(victim_type, 'individual') <> 'individual'
            else coalesce(victim_type, '') <> 'individual'
        end as reason_not_individual,
        coalesce(age_at_report < {{ var('minimum_age') }}, false) as reason_juvenile,
        -- A blank age must never let a juvenile be texted (eligibility.unknown_age: hold). An
        -- organisation has no age: not_individual already stops it.
        {%- if var('unknown_age') == 'hold' %}
        age_at_report is null
        and (victim_type = 'individual' or (notice_kind = 'reporting_party' and victim_type is null))
        {%- else %}
        false
        {%- endif %} as reason_age_unknown,
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
        not is_report_missing and division_code is null as reason_unknown_division,
        division_code is not null
        and (go_live_date is null or reported_date is null or reported_date < go_live_date) as reason_division_not_live,
        coalesce(reported_at < {{ as_of() }} - interval '{{ var("max_report_age_days") }} days', false)
            as reason_stale_report,
        is_already_notified as reason_already_notified,
        not has_notifiable_offense as reason_offense_not_notifiable,
        is_report_missing as reason_report_not_received,
        is_newest_version_held as reason_newer_version_quarantined,
        is_report_deleted as reason_report_deleted,
        notice_kind = 'reporting_party' and not {{ var('reporting_party_notices') }}
            as reason_reporting_party_notices_off
    from with_contact_checks
),

decided as (
select
    *,
    array_remove(array[
        case when reason_not_individual then 'not_individual' end,
        case when reason_juvenile then 'juvenile' end,
        case when reason_age_unknown then 'age_unknown' end,
        case when reason_deceased then 'deceased' end,
        case when reason_sensitive_offense then 'sensitive_offense' end,
        case when reason_domestic_violence then 'domestic_violence' end,
        case when reason_contact_shared_with_offender then 'contact_shared_with_offender' end,
        case when reason_no_valid_channel then 'no_valid_channel' end,
        case when reason_no_consent_basis then 'no_consent_basis' end,
        case when reason_opted_out then 'opted_out' end,
        case when reason_unknown_division then 'unknown_division' end,
        case when reason_division_not_live then 'division_not_live' end,
        case when reason_stale_report then 'stale_report' end,
        case when reason_already_notified then 'already_notified' end,
        case when reason_offense_not_notifiable then 'offense_not_notifiable' end,
        case when reason_report_not_received then 'report_not_received' end,
        case when reason_newer_version_quarantined then 'newer_version_quarantined' end,
        case when reason_report_deleted then 'report_deleted' end,
        case when reason_reporting_party_notices_off then 'reporting_party_notices_off' end
    ], null) as reasons,
    has_sms_channel and not is_sms_opted_out as can_sms,
    has_email_channel and not is_email_opted_out as can_email,
    case
        when language in ({% for l in var('languages') %}'{{ l }}'{{ "," if not loop.last }}{% endfor %}) then language
        when split_part(language, '-', 1) in ({% for l in var('languages') %}'{{ l }}'{{ "," if not loop.last }}{% endfor %})
            then split_part(language, '-', 1)
        else '{{ var("default_language") }}'
    end as message_language,
    case when phone_source = 'cad' then 'cad' else 'rms' end as contact_source
from reasons
)

select *, array_to_string(reasons, ',') as reason_list
from decided
