{{
    config(
        materialized='incremental',
        unique_key='report_number',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[{'columns': ['report_number']}],
    )
}}
-- A person entered twice on one report (same role, name and birth date or age, or same
-- contact) is kept once: the lowest person_seq, its contact details, and for every safety
-- fact the most cautious of what the copies say (deceased if any copy says so, consent
-- refused if any copy refuses, the youngest age, not an individual unless every copy is; no
-- type when no copy gives one).
with

persons as (
    select * from {{ ref('stg_rms__persons') }}
    where {{ only_reports_to_refresh('report_number') }}
),

identified as (
    select
        *,
        lower(coalesce(first_name, '')) || '|' || lower(coalesce(last_name, '')) as name_key
    from persons
),

ranked as (
    select
        *,
        min(person_seq) over (
            partition by report_number, role, name_key, coalesce(birth_date::text, age::text, phone_e164, email, person_seq::text)
        ) as canonical_seq
    from identified
),

merged as (
    select
        report_number,
        canonical_seq,
        bool_or(is_deceased) as is_deceased,
        case when bool_or(contact_consent = false) then false when bool_or(contact_consent) then true end
            as contact_consent,
        min(age) as age,
        max(birth_date) as birth_date,
        coalesce(bool_and(coalesce(victim_type, '') = 'individual'), false) as is_individual_in_every_copy,
        min(victim_type) filter (where coalesce(victim_type, '') <> 'individual') as other_victim_type,
        bool_and(victim_type is null) as has_no_victim_type
    from ranked
    group by report_number, canonical_seq
)

select
    ranked.report_number,
    ranked.person_seq,
    ranked.role,
    -- Null only when no copy gives a type (reporting parties usually have none).
    case
        when merged.is_individual_in_every_copy then 'individual'
        when merged.has_no_victim_type then null
        else coalesce(merged.other_victim_type, 'unknown')
    end as victim_type,
    ranked.first_name,
    ranked.last_name,
    merged.birth_date,
    merged.age,
    merged.is_deceased,
    ranked.phone_e164,
    ranked.phone_line_type,
    ranked.has_raw_phone,
    ranked.email,
    ranked.has_raw_email,
    ranked.language,
    merged.contact_consent,
    ranked.consent_source,
    ranked.consent_at,
    ranked.offense_seqs
from ranked
inner join merged on ranked.report_number = merged.report_number and ranked.person_seq = merged.canonical_seq
