-- depends_on: {{ ref('stg_rms__incidents') }}, {{ ref('stg_ops__reports_to_refresh') }}
{{
    config(
        materialized='incremental',
        unique_key='victim_key',
        incremental_strategy='append',
        full_refresh=false,
        on_schema_change='fail',
    )
}}
-- Each victim is assigned once, when first found eligible on a report inside the experiment
-- window, and never reassigned: --full-refresh leaves this table alone, and the arm is a pure
-- function of the salt and the report number, so a rebuild gives the same arms. Victims on one
-- report share an arm. Only victims are randomized: reporting parties follow their report's arm.
-- Analysts see the arm and the keyed report_key, not the report number or its bucket (an unkeyed
-- fingerprint of the report number).
with

decisions as (
    select * from {{ ref('int_victims__eligibility_evaluated') }}
    where notice_kind = 'initial'
),

newly_eligible as (
    select decisions.*
    from decisions
    where cardinality(decisions.reasons) = 0
      and decisions.reported_date >= '{{ var("experiment_start_date") }}'::date
      {%- if var('experiment_end_date') %}
      and decisions.reported_date <= '{{ var("experiment_end_date") }}'::date
      {%- endif %}
      {%- if is_incremental() %}
      and {{ only_reports_to_refresh('decisions.report_number', include_open=true) }}
      and not exists (
          select 1 from {{ this }} as assigned
          where assigned.victim_key = decisions.victim_key
      )
      {%- endif %}
)

select
    victim_key,
    {{ report_key('report_number') }} as report_key,
    '{{ var("experiment_name") }}'::text as experiment_name,
    case when {{ experiment_bucket('report_number') }} < {{ var('holdout_share') }} then 'B' else 'A' end as arm,
    division_code,
    date_trunc('month', reported_date)::date as reported_month,
    {{ as_of() }} as assigned_at
from newly_eligible
