{#- Every snapshot of one `dbt build` shares one timestamp (the invocation's start, UTC), so a work and its
    licence windows changed by the same build change at the same instant, and builds stay in order. -#}
{% macro duckdb__snapshot_get_time() -%}
    '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}+00'::timestamptz
{%- endmacro %}
