{#- The order of a source record's delivered versions, one rule for every model that picks the latest:
    message time (DDEX), package version then creation date (ADI), arrival otherwise; the file breaks ties.
    relation: the alias the columns are read from; newest_first=false gives the oldest first. -#}
{% macro version_order(relation=none, newest_first=true) -%}
{%- set p = relation ~ '.' if relation else '' -%}
{%- if newest_first -%}
{{ p }}delivered_at desc nulls last, {{ p }}version_major desc, {{ p }}version_minor desc, {{ p }}file_id desc
{%- else -%}
{{ p }}delivered_at nulls first, {{ p }}version_major, {{ p }}version_minor, {{ p }}file_id
{%- endif -%}
{%- endmacro %}
