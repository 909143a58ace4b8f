-- Every way an export may name a division (code or configured alias, upper-cased) to its code.
{% set keys = {} %}
{% for d in var('divisions') %}{% do keys.update({d.code | upper: d.code}) %}{% endfor %}
{% for alias, code in var('division_aliases').items() %}{% do keys.update({alias | upper: code}) %}{% endfor %}
select * from (
    values
    {%- for key, code in keys.items() %}
        ('{{ key | replace("'", "''") }}', '{{ code }}'){{ "," if not loop.last }}
    {%- endfor %}
) as division_keys (division_key, division_code)
