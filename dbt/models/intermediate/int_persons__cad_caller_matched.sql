-- Victims and reporting parties who were the caller on a CAD call linked to their report: the
-- call's report_number names the report and the caller's name matches the person's (see the
-- normalized_name macro: "DOE, JANE" = "Jane Doe"). Among matching calls with a valid caller
-- phone, the newest wins. Calls without a report stay in staging and are never messaged.
-- Restricted: the caller's phone is PII.
with

persons as (
    select * from {{ ref('int_persons__deduplicated') }}
    where role in ('victim', 'reporting_party')
),

calls as (
    select * from {{ ref('stg_rms__cad_calls') }}
    where report_number is not null and caller_phone_e164 is not null
),

named_persons as (
    select
        report_number,
        person_seq,
        {{ normalized_name("coalesce(first_name, '') || ' ' || coalesce(last_name, '')") }} as name_key
    from persons
),

named_calls as (
    select
        call_number,
        report_number,
        received_at,
        caller_phone_e164,
        caller_phone_line_type,
        {{ normalized_name('caller_name') }} as name_key
    from calls
),

matched as (
    select
        named_persons.report_number,
        named_persons.person_seq,
        named_calls.call_number,
        named_calls.received_at,
        named_calls.caller_phone_e164,
        named_calls.caller_phone_line_type,
        row_number() over (
            partition by named_persons.report_number, named_persons.person_seq
            order by named_calls.received_at desc nulls last, named_calls.call_number desc
        ) as recency
    from named_persons
    inner join named_calls
        on named_persons.report_number = named_calls.report_number
        and named_persons.name_key = named_calls.name_key
)

select
    report_number,
    person_seq,
    call_number,
    received_at as call_received_at,
    caller_phone_e164 as cad_phone_e164,
    caller_phone_line_type as cad_phone_line_type
from matched
where recency = 1
