{# The keys analysts see: HMAC-SHA256 under a secret the database never holds (warehouse.keys;
   the functions come from migration 0013 and need the session settings vnotify's processes set).
   The victim key is also the join key of the outbox and the survey invitations. #}
{% macro victim_key(report_number, person_seq) -%}
    ops.victim_key({{ report_number }}, {{ person_seq }})
{%- endmacro %}

{% macro report_key(report_number) -%}
    ops.report_key({{ report_number }})
{%- endmacro %}

{# The experiment bucket of a report in [0, 1): the first 32 bits of md5(salt:report_number).
   Victims on one report share it; analytics/ and the tests reproduce it in Python. #}
{% macro experiment_bucket(report_number) -%}
    (('x' || substr(md5({{ "'" ~ var('experiment_salt') ~ "'" }} || ':' || {{ report_number }}), 1, 8))::bit(32)::bigint / 4294967296.0)
{%- endmacro %}

{# Contract date-times without an offset are in the agency's time zone. #}
{% macro agency_timestamp(column) -%}
    ops.agency_timestamptz({{ column }}, '{{ var("agency_time_zone") }}')
{%- endmacro %}

{% macro as_of() -%}
    {%- if var('as_of') -%} '{{ var("as_of") }}'::timestamptz {%- else -%} now() {%- endif -%}
{%- endmacro %}

{# Contract booleans: Y/N, true/false, 1/0 in any case; anything else unknown. #}
{% macro contract_bool(column) -%}
    case lower(btrim({{ column }})) when 'y' then true when 'true' then true when '1' then true
        when 'n' then false when 'false' then false when '0' then false end
{%- endmacro %}
