{{
    config(
        materialized='incremental',
        unique_key='report_number',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[{'columns': ['report_number']}],
    )
}}
-- A person entered twice on one report is kept once, and only on strong evidence: the same role
-- and the same non-empty name (compared as normalized_name does), or the same phone, or the same
-- email; copies linked through a chain of such matches are one person. People with no name and
-- no contact are never merged (three nameless victims aged 25, 25 and 40 stay three). The
-- person kept is the lowest person_seq with its contact details, and for every safety fact the
-- most cautious of what the copies say (deceased if any copy says so, consent refused if any
-- copy refuses, the youngest age, not an individual unless every copy is; no type when no copy
-- gives one). Offenders and other roles are kept as exported (the safety checks read them all).
with recursive

persons as (
    select * from {{ ref('stg_rms__persons') }}
    where {{ only_reports_to_refresh('report_number') }}
),

keyed as (
    select persons.report_number, persons.role, persons.person_seq, keys.match_key
    from persons
    cross join lateral (
        values
        ('name:' || {{ normalized_name("coalesce(persons.first_name, '') || ' ' || coalesce(persons.last_name, '')") }}),
        ('phone:' || persons.phone_e164),
        ('email:' || persons.email)
    ) as keys (match_key)
    -- Only the people who may be messaged are merged; everyone else stays as exported.
    where keys.match_key is not null and persons.role in ('victim', 'reporting_party')
),

links as (
    select distinct a.report_number, a.role, a.person_seq, b.person_seq as other_seq
    from keyed as a
    inner join keyed as b
        on a.report_number = b.report_number
        and a.role = b.role
        and a.match_key = b.match_key
        and a.person_seq <> b.person_seq
),

-- Everyone reachable through a chain of matches.
reachable (report_number, role, person_seq, other_seq) as (
    select report_number, role, person_seq, other_seq from links
    union
    select reachable.report_number, reachable.role, reachable.person_seq, links.other_seq
    from reachable
    inner join links
        on reachable.report_number = links.report_number
        and reachable.role = links.role
        and reachable.other_seq = links.person_seq
),

canonical as (
    select report_number, person_seq, least(person_seq, min(other_seq)) as canonical_seq
    from reachable
    group by report_number, person_seq
),

ranked as (
    select
        persons.*,
        coalesce(canonical.canonical_seq, persons.person_seq) as canonical_seq
    from persons
    left join canonical
        on persons.report_number = canonical.report_number
        and persons.person_seq = canonical.person_seq
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
