{#
  Incremental runs rebuild only the reports that can have changed: those in
  stg_ops__reports_to_refresh (rows in a delivery that settled since the last successful
  transform), and those still inside the max_report_age window, where time-dependent reasons
  (stale, already notified, opted out) can change without new data. Older decisions are final.
#}
{% macro changed_reports() -%}
    select report_number from {{ ref('stg_ops__reports_to_refresh') }}
{%- endmacro %}

{% macro open_reports() -%}
    select report_number from {{ ref('stg_rms__incidents') }}
    where reported_at >= {{ as_of() }} - interval '1 day' * ({{ var("max_report_age_days") }} + 1)
{%- endmacro %}

{# A filter on report_number for incremental runs of report-keyed models; empty otherwise. The
   ref is taken outside the branch so that dbt orders the model after stg_ops__reports_to_refresh. #}
{% macro only_reports_to_refresh(column, include_open=false) -%}
    {%- set _ = ref('stg_ops__reports_to_refresh') -%}
    {%- if is_incremental() %}
    {{ column }} in (
        {{ changed_reports() }}
        {%- if include_open %}
        union
        {{ open_reports() }}
        {%- endif %}
    )
    {%- else %}
    true
    {%- endif %}
{%- endmacro %}
