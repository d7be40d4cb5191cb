{#-
    Incremental models keyed by work: a work's rows depend only on that work's inputs, so a night rewrites the
    works whose inputs changed (delete+insert on work_id) and keeps the others as they are.

    licence_terms_fingerprint(terms): one value per work summing up every column of its licence terms that the
    window merge reads (licence_term_id already hashes the work, source, holder, file, deal, dates, territories,
    exclusions, models, uses and takedown flag; the rest is when it was granted and purged). The file is named
    again on its own: a takedown withdraws the terms of its own message (file), so the merge matches terms to
    takedowns by file_id, and the fingerprint must not depend on licence_term_id keeping the file in its hash.
    Two builds over the same terms of a work give the same fingerprint, and any change to them a different one.
    Changing what goes into the fingerprint changes it for every work: the next incremental night merges every
    work again, which is also how a change to the merge logic itself reaches works whose terms did not change:
    the leading tag names the merge logic ('cells': territories as cells, Worldwide one row), change it with it.

    delete_works_not_in(keep): a pre-hook deleting, on an incremental run, the works that are no longer in
    `keep` (delete+insert only replaces works that still have rows).
-#}
{% macro licence_terms_fingerprint(terms) -%}
    md5('cells:' || string_agg(
        {{ terms }}.licence_term_id
            || '|' || coalesce(cast({{ terms }}.file_id as varchar), '')
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
