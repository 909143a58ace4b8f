{# Models land in the schema their folder names (staging, marts, restricted…), not target_schema. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
