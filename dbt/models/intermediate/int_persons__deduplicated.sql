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
-- contact) is kept once: the lowest person_seq, with the union of what the copies say.
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
)

select
    report_number,
    person_seq,
    role,
    victim_type,
    first_name,
    last_name,
    birth_date,
    age,
    is_deceased,
    phone_e164,
    phone_line_type,
    has_raw_phone,
    email,
    has_raw_email,
    language,
    contact_consent,
    consent_source,
    consent_at,
    offense_seqs
from ranked
where person_seq = canonical_seq
