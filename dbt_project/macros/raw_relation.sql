{#-
    A raw table read with a fixed set of typed columns, whatever state ingest left it in.

    Python ingest owns the raw tables and adds columns and tables as it learns new formats (ERN 3, MEAD,
    purges...). A staging model lists the columns it wants with their types; a column the table does not
    have yet comes back as a typed null, and a table that does not exist yet as an empty relation. So dbt
    keeps building while ingest grows, and picks the new columns up on the next build without a change here.
-#}
{% macro raw_relation(table_name, columns, with_provenance=true, source_name='raw') -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- set wanted = {} -%}
    {%- if with_provenance -%}
        {%- do wanted.update({'file_id': 'varchar', 'file_path': 'varchar', 'record_position': 'varchar', 'holder_id': 'varchar'}) -%}
    {%- endif -%}
    {%- do wanted.update(columns) -%}
    {%- set existing = none -%}
    {%- if execute -%}
        {%- set found = adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
        {%- if found is not none -%}
            {%- set existing = adapter.get_columns_in_relation(found) | map(attribute='name') | map('lower') | list -%}
        {%- endif -%}
    {%- endif -%}
    select
    {%- for name, data_type in wanted.items() %}
        {% if existing is not none and name | lower in existing -%}
            cast({{ adapter.quote(name) }} as {{ data_type }})
        {%- else -%}
            cast(null as {{ data_type }})
        {%- endif %} as {{ name }}{% if not loop.last %},{% endif %}
    {%- endfor %}
    {% if existing is not none or not execute -%}
    from {{ relation }}
    {%- else -%}
    where false
    {%- endif %}
{%- endmacro %}

