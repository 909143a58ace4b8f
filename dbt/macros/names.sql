{#
  A person's name as a comparison key: case-, whitespace-, punctuation- and common-accent-
  insensitive, and word-order-insensitive, so CAD's "DOE, JANE" and "Jane Doe" give the same
  key ("doe jane"). Apostrophes join (O'Brien = OBrien); other punctuation separates words
  (Garcia-Lopez = Garcia Lopez). Null when nothing is left.
#}
{% macro normalized_name(expression) -%}
    (
        select nullif(string_agg(word, ' ' order by word), '')
        from regexp_split_to_table(
            regexp_replace(
                regexp_replace(
                    lower(translate(
                        coalesce({{ expression }}, ''),
                        'ÁÀÂÄÃÅáàâäãåÉÈÊËéèêëÍÌÎÏíìîïÓÒÔÖÕØóòôöõøÚÙÛÜúùûüÑñÇçÝýÿ',
                        'AAAAAAaaaaaaEEEEeeeeIIIIiiiiOOOOOOooooooUUUUuuuuNnCcYyy'
                    )),
                    '[''’`]', '', 'g'
                ),
                '[^a-z0-9]+', ' ', 'g'
            ),
            ' '
        ) as word
        where word <> ''
    )
{%- endmacro %}
