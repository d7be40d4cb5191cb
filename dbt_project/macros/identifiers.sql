{#- A stable work id from a source identifier key such as 'isrc:JPTO09404900': same key, same id, forever. -#}
{% macro work_id(key_expression) -%}
    'w_' || substr(sha256({{ key_expression }}), 1, 20)
{%- endmacro %}

{#- A stable party id from a party kind and a name match key (or a DDEX party id / ISNI when delivered). -#}
{% macro party_id(key_expression) -%}
    'p_' || substr(sha256({{ key_expression }}), 1, 20)
{%- endmacro %}

{#- The source key of a DDEX release: ICPN first, then GRid, then the holder's proprietary id. -#}
{% macro release_key(icpn, grid, holder_id, proprietary_id) -%}
    coalesce('icpn:' || {{ icpn }}, 'grid:' || {{ grid }}, 'release:' || {{ holder_id }} || ':' || {{ proprietary_id }})
{%- endmacro %}

{#- The source key of an ADI title: provider id (or the holder when absent) and the title's Asset_ID. -#}
{% macro adi_key(provider_id, holder_id, asset_id) -%}
    'adi:' || coalesce({{ provider_id }}, {{ holder_id }}) || ':' || {{ asset_id }}
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

{#- A video title match key: the match key (msdb_match_key, the Python function pipelines.text.match_key) without
    a trailing picture-format marker (' HD', ' (SD)', ' [4K]'). -#}
{% macro video_title_key(column) -%}
    nullif(trim(regexp_replace(msdb_match_key({{ column }}), '(\s+(hd|sd|uhd|4k)|\s*[(\[](hd|sd|uhd|4k)[)\]])+$', '')), '')
{%- endmacro %}

{#- A deterministic key over several columns (nulls spelled out), like dbt_utils.generate_surrogate_key. -#}
{% macro dbt_utils_surrogate(columns) -%}
    substr(sha256(concat_ws('|', {% for c in columns %}coalesce(cast({{ c }} as varchar), '∅'){% if not loop.last %}, {% endif %}{% endfor %})), 1, 24)
{%- endmacro %}

{#- ADI App_Data kept as delivered ([[name, value], ...]) → the first value of a name, or every value. -#}
{% macro app_data_value(app_data_column, name) -%}
    list_extract(list_transform(list_filter(from_json({{ app_data_column }}, '[["VARCHAR"]]'), p -> p[1] = '{{ name }}'), p -> p[2]), 1)
{%- endmacro %}

{% macro app_data_values(app_data_column, name) -%}
    list_transform(list_filter(from_json({{ app_data_column }}, '[["VARCHAR"]]'), p -> p[1] = '{{ name }}'), p -> p[2])
{%- endmacro %}
