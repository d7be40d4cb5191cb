{#-
    Incremental models keyed by work: a work's rows depend only on that work's inputs, so a night rewrites the
    works whose inputs changed (delete+insert on work_id) and keeps the others as they are.

    licence_terms_fingerprint(terms): one value per work summing up every column of its licence terms that the
    window merge reads (licence_term_id already hashes the work, source, holder, file, deal, dates, territories,
    exclusions, models, uses and takedown flag; the rest is when it was granted and purged). Two builds over
    the same terms of a work give the same fingerprint, and any change to them a different one.

    delete_works_not_in(keep): a pre-hook deleting, on an incremental run, the works that are no longer in
    `keep` (delete+insert only replaces works that still have rows).
-#}
{% macro licence_terms_fingerprint(terms) -%}
    md5(string_agg(
        {{ terms }}.licence_term_id
            || '|' || coalesce(cast({{ terms }}.granted_at as varchar), '')
            || '|' || coalesce(cast({{ terms }}.purged_at as varchar), ''),
        ',' order by {{ terms }}.licence_term_id, {{ terms }}.granted_at, {{ terms }}.purged_at
    ))
{%- endmacro %}

{% macro delete_works_not_in(keep) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where work_id not in ({{ keep }})
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
