{{
    config(
        materialized='incremental',
        unique_key='report_number',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[{'columns': ['report_number']}],
    )
}}
-- People on each report from the version the warehouse uses (stg_rms__report_versions), typed,
-- with the normalized phone and email joined in. Restricted: names and contacts are PII.
with

persons as (
    select * from {{ source('raw', 'persons') }}
    where {{ only_reports_to_refresh('btrim(report_number)') }}
),

batches as (
    select * from {{ ref('stg_ops__ingest_batches') }}
),

versions as (
    select * from {{ ref('stg_rms__report_versions') }}
    where {{ only_reports_to_refresh('report_number') }}
),

phones as (
    select * from {{ source('ops', 'phone_numbers') }}
),

emails as (
    select * from {{ source('ops', 'email_addresses') }}
)

select
    versions.report_number,
    btrim(persons.person_seq)::int as person_seq,
    lower(btrim(persons.role)) as role,
    lower(nullif(btrim(persons.victim_type), '')) as victim_type,
    nullif(btrim(persons.first_name), '') as first_name,
    nullif(btrim(persons.last_name), '') as last_name,
    nullif(btrim(persons.birth_date), '')::date as birth_date,
    nullif(btrim(persons.age), '')::int as age,
    coalesce({{ contract_bool('persons.deceased') }}, false) as is_deceased,
    phones.e164 as phone_e164,
    -- The export's own phone type wins over "unknown": an officer may know it is a landline.
    case
        when phones.is_valid is not true then null
        when lower(btrim(persons.phone_type)) in ('mobile', 'landline') and phones.line_type = 'unknown'
            then lower(btrim(persons.phone_type))
        else phones.line_type
    end as phone_line_type,
    persons.phone is not null as has_raw_phone,
    emails.normalized as email,
    persons.email is not null as has_raw_email,
    lower(nullif(btrim(persons.language), '')) as language,
    {{ contract_bool('persons.contact_consent') }} as contact_consent,
    nullif(btrim(persons.consent_source), '') as consent_source,
    {{ agency_timestamp('nullif(btrim(persons.consent_at), \'\')') }} as consent_at,
    nullif(btrim(persons.offense_seqs), '') as offense_seqs
from persons
inner join batches on persons.batch_id = batches.batch_id
inner join versions
    on btrim(persons.report_number) = versions.report_number
    and batches.delivery_id = versions.persons_delivery_id
left join phones on persons.phone = phones.raw_phone and phones.is_valid
left join emails on persons.email = emails.raw_email and emails.is_valid
