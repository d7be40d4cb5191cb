{#- A stable work id from a source identifier key such as 'isrc:JPTO09404900': same key, same id, forever. -#}
{% macro work_id(key_expression) -%}
    'w_' || substr(sha256({{ key_expression }}), 1, 20)
{%- endmacro %}

{#- Titles JSON (as ingested) → the first title text in a given language/script, e.g. 'ja-Jpan'. -#}
{% macro title_in(titles_column, language_scripts) -%}
    list_extract(
        list_transform(
            list_filter(
                from_json({{ titles_column }}, '[{"text":"VARCHAR","language_script":"VARCHAR"}]'),
                t -> t.language_script in ({% for ls in language_scripts %}'{{ ls }}'{% if not loop.last %}, {% endif %}{% endfor %})
            ),
            t -> t.text
        ),
        1
    )
{%- endmacro %}

{#- The value itself when it is written in Latin script (ASCII and Latin-1/Extended-A/B), else null. -#}
{% macro if_latin(column) -%}
    case when regexp_matches({{ column }}, '^[\x20-\x7E\x{00C0}-\x{024F}]+$') then {{ column }} end
{%- endmacro %}

{#- A deterministic key over several columns (nulls spelled out), like dbt_utils.generate_surrogate_key. -#}
{% macro dbt_utils_surrogate(columns) -%}
    substr(sha256(concat_ws('|', {% for c in columns %}coalesce(cast({{ c }} as varchar), '∅'){% if not loop.last %}, {% endif %}{% endfor %})), 1, 24)
{%- endmacro %}
