{{
    config(
        materialized='incremental',
        unique_key='report_number',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[{'columns': ['report_number'], 'unique': True}],
    )
}}
-- Per report: whether any offense is sensitive (never messaged) or notifiable, and the
-- offense the message names (the first notifiable one).
with

offenses as (
    select * from {{ ref('stg_rms__offenses') }}
    where {{ only_reports_to_refresh('report_number') }}
),

codes as (
    select * from {{ ref('nibrs_offense_codes') }}
),

classified as (
    select
        offenses.report_number,
        offenses.offense_seq,
        offenses.offense_code,
        coalesce(codes.is_sensitive, false)
            {%- if var('extra_excluded_offense_codes') %}
            or offenses.offense_code in ({% for c in var('extra_excluded_offense_codes') %}'{{ c }}'{{ "," if not loop.last }}{% endfor %})
            {%- endif %} as is_sensitive,
        coalesce(codes.is_notifiable, false) as is_notifiable,
        codes.offense_code is null as is_unknown_code
    from offenses
    left join codes on offenses.offense_code = codes.offense_code
)

select
    report_number,
    bool_or(is_sensitive) as has_sensitive_offense,
    bool_or(is_notifiable and not is_sensitive) as has_notifiable_offense,
    (array_agg(offense_code order by offense_seq) filter (where is_notifiable and not is_sensitive))[1]
        as primary_offense_code,
    count(*) as offense_count
from classified
group by report_number
