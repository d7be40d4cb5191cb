"""Metadata of works for rescoring similarity candidates: genres, people, label or studio, era, duplicate keys.

The dense search (kansei + text) proposes candidates; only those candidate pairs are rescored here, so
metadata never costs works x works. A work's metadata is held as sparse 0/1 rows (genres, people) and integer
codes (label, year, duplicate keys).

Memory bound: a domain's works x (genres + people) non-zeros (a few dozen bytes a work) and five int64
codes a work (40 bytes: 40 MB at a million works).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METADATA = "similarity_metadata"

# Roles whose shared party makes two works related: a label or studio counts as `label`, not as a person.
PEOPLE_ROLES = ("artist", "composer", "lyricist", "cast", "crew")
LABEL_ROLES = ("label", "studio")


def prepare_metadata(con) -> None:
    """TEMP TABLE similarity_metadata: one row per work of marts.dim_work with what rescoring reads, and a text
    of it all (`metadata_text`) that goes into the work's vector fingerprint."""
    columns = {row[0] for row in con.execute("DESCRIBE marts.dim_work").fetchall()}
    has_parties = bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'marts' AND table_name = 'bridge_work_party'"
        ).fetchone()[0]
    )

    def column(name: str, sql_type: str) -> str:
        return f"w.{name}" if name in columns else f"NULL::{sql_type}"

    parties = (
        f"""
        SELECT work_id,
               list(DISTINCT party_id ORDER BY party_id) FILTER (WHERE role_group IN {PEOPLE_ROLES}) AS people,
               min(party_id) FILTER (WHERE role_group IN {LABEL_ROLES}) AS label_party
        FROM marts.bridge_work_party GROUP BY work_id
        """
        if has_parties
        else "SELECT NULL::VARCHAR AS work_id, NULL::VARCHAR[] AS people, NULL::VARCHAR AS label_party WHERE false"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {METADATA} AS
        WITH
        parties AS ({parties}),
        works AS (
            SELECT
                -- ids
                w.work_id,
                {column("isrc", "VARCHAR")} AS isrc,
                {column("provider_asset_id", "VARCHAR")} AS provider_asset_id,
                {column("parent_work_id", "VARCHAR")} AS parent_work_id,
                -- what is compared
                list_sort(list_distinct(list_transform(coalesce({column("genres", "VARCHAR[]")}, []), g -> lower(trim(g)))))
                    AS genres,
                coalesce(p.people, []) AS people,
                coalesce(lower(trim({column("label_name", "VARCHAR")})), p.label_party) AS label,
                coalesce(year({column("release_date", "DATE")}), {column("production_year", "INTEGER")}) AS year,
                -- the same work delivered twice: same normalised title and artist (or series and episode)
                nullif(concat_ws('|',
                    lower(strip_accents(trim({column("title", "VARCHAR")}))),
                    lower(trim(coalesce({column("display_artist", "VARCHAR")}, {column("series_name", "VARCHAR")}))),
                    {column("season_number", "INTEGER")},
                    {column("episode_number", "INTEGER")}
                ), '') AS title_key
            FROM marts.dim_work w LEFT JOIN parties p USING (work_id)
        ),
        final AS (
            SELECT *,
                   concat_ws('|', isrc, provider_asset_id, parent_work_id, array_to_string(genres, ','),
                             array_to_string(people, ','), label, year, title_key) AS metadata_text
            FROM works
        )
        SELECT * FROM final
        """
    )


@dataclass
class WorkMetadata:
    genres: object  # CSR works x genres, 0/1
    people: object  # CSR works x parties, 0/1
    label: np.ndarray  # int64 code, -1 unknown
    year: np.ndarray  # float64, nan unknown
    duplicate_keys: np.ndarray  # works x 3 int64 codes (isrc, provider asset id, title key), -1 unknown

    @property
    def genre_counts(self) -> np.ndarray:
        return np.asarray(self.genres.sum(axis=1)).ravel()


def _codes(values: list) -> np.ndarray:
    lookup: dict = {}
    return np.array([-1 if v is None else lookup.setdefault(v, len(lookup)) for v in values], dtype=np.int64)


def _incidence(lists: list[list[str]]):
    from scipy import sparse

    lookup: dict[str, int] = {}
    rows, cols = [], []
    for row, values in enumerate(lists):
        for value in values or []:
            rows.append(row)
            cols.append(lookup.setdefault(value, len(lookup)))
    return sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(lists), max(len(lookup), 1))
    )


def read_metadata(con, work_ids: list[str]) -> WorkMetadata:
    """Metadata of `work_ids`, in their order (codes shared across the list, so two domains read together
    compare)."""
    import polars as pl

    from pipelines.warehouse import ArrowStream

    wanted = ArrowStream(pl.DataFrame({"work_id": work_ids, "row": np.arange(len(work_ids))}))  # noqa: F841 (read by DuckDB)
    found = pl.DataFrame(
        con.sql(
            f"""
            SELECT m.* FROM wanted LEFT JOIN {METADATA} m USING (work_id) ORDER BY wanted.row
            """
        )
    )
    keys = np.stack(
        [_codes(found["isrc"].to_list()), _codes(found["provider_asset_id"].to_list()), _codes(found["title_key"].to_list())],
        axis=1,
    )
    years = found["year"].to_numpy().astype(np.float64) if len(found) else np.zeros(0)
    return WorkMetadata(
        genres=_incidence(found["genres"].to_list()),
        people=_incidence(found["people"].to_list()),
        label=_codes(found["label"].to_list()),
        year=years,
        duplicate_keys=keys,
    )


def duplicates(meta: WorkMetadata, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Pairs that are the same work delivered twice: one duplicate key (ISRC, provider asset id, normalised
    title + artist) in common."""
    a, b = meta.duplicate_keys[left], meta.duplicate_keys[right]
    return ((a == b) & (a >= 0)).any(axis=1)


def metadata_scores(meta: WorkMetadata, left: np.ndarray, right: np.ndarray, weights: dict[str, float], era_years: float):
    """Per pair, in [0, 1]: the weighted mean of genre overlap (Jaccard), shared people (any), same label or
    studio, and era (1 at the same year, 0 at era_years apart or more); unknowns count 0."""
    if not len(left):
        return np.zeros(0)
    shared_genres = np.asarray(meta.genres[left].multiply(meta.genres[right]).sum(axis=1)).ravel()
    counts = meta.genre_counts
    union = counts[left] + counts[right] - shared_genres
    genre = np.divide(shared_genres, union, out=np.zeros(len(left)), where=union > 0)
    people = (np.asarray(meta.people[left].multiply(meta.people[right]).sum(axis=1)).ravel() > 0).astype(np.float64)
    label = ((meta.label[left] == meta.label[right]) & (meta.label[left] >= 0)).astype(np.float64)
    gap = np.abs(meta.year[left] - meta.year[right])
    era = np.where(np.isnan(gap), 0.0, np.clip(1.0 - gap / era_years, 0.0, 1.0))
    total = sum(weights.values()) or 1.0
    return (
        weights.get("genre", 0) * genre
        + weights.get("people", 0) * people
        + weights.get("label", 0) * label
        + weights.get("era", 0) * era
    ) / total
