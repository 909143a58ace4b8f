{#-
    Fails when a combination of `columns` appears on more than one row of `model`
    (a dbt_utils-free stand-in for unique_combination_of_columns).

    data_tests:
      - unique_combination:
          arguments:
            columns: ['offense_code', 'language']
-#}
{% test unique_combination(model, columns) %}

{%- set column_list = columns | join(', ') %}

select
    {{ column_list }},
    count(*) as n_rows
from {{ model }}
group by {{ column_list }}
having count(*) > 1

{% endtest %}
