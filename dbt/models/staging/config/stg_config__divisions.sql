-- Divisions, their phones and go-live dates, from the agency configuration (dbt vars).
{% set divisions = var('divisions') %}
select * from (
    values
    {%- for d in divisions %}
        ('{{ d.code }}', '{{ d.name | replace("'", "''") }}', '{{ d.substation_phone }}', '{{ d.investigations_phone }}',
         {{ "'" ~ d.go_live ~ "'::date" if d.go_live else "null::date" }}){{ "," if not loop.last }}
    {%- endfor %}
) as divisions (division_code, division_name, substation_phone, investigations_phone, go_live_date)
