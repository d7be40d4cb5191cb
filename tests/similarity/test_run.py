"""run_similarity on a small warehouse: exact in blocks, the index path, and incremental nights."""

from datetime import date

import duckdb
import numpy as np
import pytest

from pipelines.similarity import run_similarity
from tests.similarity.conftest import Catalog, clustered

NIGHT_1, NIGHT_2, NIGHT_3 = date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)


def query(settings, sql, params=None):
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def neighbours(settings) -> list[tuple]:
    return query(
        settings,
        "SELECT work_id, neighbor_work_id, rank, score FROM similarity.work_neighbors ORDER BY work_id, rank",
    )


def lists(settings) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for work, neighbour, _, _ in neighbours(settings):
        out.setdefault(work, []).append(neighbour)
    return out


def recomputed_on(settings, night) -> set[str]:
    rows = query(settings, "SELECT DISTINCT work_id FROM similarity.work_neighbors WHERE logical_date = ?", [night])
    return {w for (w,) in rows}


@pytest.fixture
def catalog(similarity_settings):
    """60 recordings in 6 clusters (some with kansei tags), 5 films, 4 episodes; exact search in small blocks.
    Ten candidates rescored into ten neighbours, none across domains: the incremental bookkeeping alone."""
    settings = similarity_settings(
        query_block_rows=8, candidate_block_rows=16, neighbors=10, rescore_candidates=10, cross_domain_neighbors=0
    )
    catalog = Catalog(settings)
    vectors = clustered(69, 24, clusters=6, seed=3, spread=0.3)
    for i in range(60):
        catalog.add(f"rec-{i:03d}", "recording", vectors[i], {"mood.calm": 0.6} if i % 3 == 0 else None)
    for i in range(5):
        catalog.add(f"movie-{i}", "movie", vectors[60 + i])
    for i in range(4):
        catalog.add(f"ep-{i}", "episode", vectors[65 + i], {"theme.crime": 0.8})
    catalog.write()
    return catalog


def test_a_full_night_gives_every_work_its_exact_neighbours_within_its_domain(catalog):
    summary = run_similarity(catalog.settings, NIGHT_1)
    found = lists(catalog.settings)
    assert len(found) == 69 and summary.works == 69 and summary.neighbors == 60 * 10 + 9 * 8
    assert all(n.startswith("rec-") for w, ns in found.items() if w.startswith("rec-") for n in ns)
    assert set(found["movie-0"]) == {"movie-1", "movie-2", "movie-3", "movie-4", "ep-0", "ep-1", "ep-2", "ep-3"}
    assert {d.domain: (d.method, d.recomputed) for d in summary.domains} == {
        "music-recording": ("exact", 60),
        "video": ("exact", 9),
    }
    rows = neighbours(catalog.settings)
    run_similarity(catalog.settings, NIGHT_2, full_refresh=True)
    assert neighbours(catalog.settings) == rows  # the same inputs give the same rows


def _old_and_new_referrers(before: dict, after: dict, work: str) -> set[str]:
    return {w for w, ns in before.items() if work in ns} | {w for w, ns in after.items() if work in ns}


@pytest.mark.parametrize("change", ["embedding", "tags"])
def test_a_changed_work_recomputes_itself_and_the_works_near_it_only(catalog, change):
    run_similarity(catalog.settings, NIGHT_1)
    before = lists(catalog.settings)
    if change == "embedding":  # rec-007 moves next to rec-040
        catalog.embeddings["rec-007"] = catalog.embeddings["rec-040"] * 0.9 + catalog.embeddings["rec-041"] * 0.1
    else:
        catalog.tags["rec-007"] = {"emotion.fear": 0.9, "mood.dark": 0.7}
    catalog.write()

    summary = run_similarity(catalog.settings, NIGHT_2)
    after = lists(catalog.settings)
    expected = {"rec-007"} | _old_and_new_referrers(before, after, "rec-007")
    assert recomputed_on(catalog.settings, NIGHT_2) == expected
    assert summary.recomputed == len(expected) < 60 and not summary.full_refresh
    if change == "embedding":  # it left its cluster: its old referrers lost it, new ones gained it
        assert {w for w, ns in after.items() if "rec-007" in ns} != {w for w, ns in before.items() if "rec-007" in ns}

    incremental = neighbours(catalog.settings)
    run_similarity(catalog.settings, NIGHT_3, full_refresh=True)
    assert neighbours(catalog.settings) == incremental  # exact search: incremental = full refresh


def test_a_removed_work_leaves_every_neighbour_list(catalog):
    run_similarity(catalog.settings, NIGHT_1)
    had_it = {w for w, ns in lists(catalog.settings).items() if "rec-012" in ns}
    assert had_it
    catalog.remove("rec-012")
    catalog.write()

    summary = run_similarity(catalog.settings, NIGHT_2)
    after = lists(catalog.settings)
    assert "rec-012" not in after and not any("rec-012" in ns for ns in after.values())
    assert had_it <= recomputed_on(catalog.settings, NIGHT_2)
    assert summary.domains[0].removed == 1
    assert query(catalog.settings, "SELECT count(*) FROM similarity.work_vectors_state WHERE work_id = 'rec-012'") == [(0,)]
    incremental = neighbours(catalog.settings)
    run_similarity(catalog.settings, NIGHT_3, full_refresh=True)
    assert neighbours(catalog.settings) == incremental


def test_a_quiet_night_recomputes_nothing(catalog):
    run_similarity(catalog.settings, NIGHT_1)
    rows = neighbours(catalog.settings)
    summary = run_similarity(catalog.settings, NIGHT_2)
    assert summary.recomputed == 0 and neighbours(catalog.settings) == rows


def test_large_domains_use_the_index_and_record_its_recall(similarity_settings):
    settings = similarity_settings(
        ann_min_works=100, recall_sample=150, ann_candidates=30, neighbors=10, rescore_candidates=10, cross_domain_neighbors=0
    )
    catalog = Catalog(settings)
    vectors = clustered(1500, 32, clusters=30, seed=11, spread=0.25)
    for i, vector in enumerate(vectors[:1200]):
        catalog.add(f"rec-{i:04d}", "recording", vector)
    for i, vector in enumerate(vectors[1200:1250]):
        catalog.add(f"movie-{i:04d}", "movie", vector)  # below the threshold: exact
    catalog.write()

    summary = run_similarity(settings, NIGHT_1)
    methods = {d.domain: (d.method, d.recall_at_k) for d in summary.domains}
    assert methods["video"] == ("exact", None)
    assert methods["music-recording"][0] == "ann" and methods["music-recording"][1] >= 0.95
    evals = query(settings, "SELECT logical_date, model, metric, value, sample_size, details->>'domain' FROM ops.model_evals")
    assert evals == [(NIGHT_1, "similarity:music-recording", "recall@10", methods["music-recording"][1], 150, "music-recording")]
    assert (settings.var_dir / "similarity" / "music-recording.usearch").exists()

    # against brute force over every recording
    matrix = np.stack([catalog.embeddings[f"rec-{i:04d}"] for i in range(1200)])
    truth = np.argsort(-(matrix @ matrix.T) + 2 * np.eye(1200), axis=1, kind="stable")[:, :10]
    found = lists(settings)
    hits = sum(len({f"rec-{j:04d}" for j in truth[i]} & set(found[f"rec-{i:04d}"])) for i in range(1200))
    assert hits / 12000 >= 0.95

    # a night later: one recording moved, one removed; the index is updated in place, not rebuilt
    catalog.embeddings["rec-0005"] = catalog.embeddings["rec-0900"]
    catalog.remove("rec-0010")
    catalog.write()
    summary = run_similarity(settings, NIGHT_2)
    music = summary.domains[0]
    assert (music.method, music.removed) == ("ann", 1) and music.recomputed < 200 and music.recall_at_k >= 0.95
    after = lists(settings)
    assert after["rec-0005"][0] == "rec-0900" and "rec-0005" in after["rec-0900"][:1]
    assert not any("rec-0010" in ns for ns in after.values())
    assert query(settings, "SELECT count(*) FROM ops.model_evals") == [(2,)]


def test_across_domains_a_large_domain_is_searched_through_its_index(similarity_settings, monkeypatch):
    """Films looking for songs among 1,200 recordings (above ann_min_works) take the recording index's hits,
    rescored: the same cross-domain neighbours as brute force for nearly every film, never a scan of them all."""
    settings = similarity_settings(
        ann_min_works=100, recall_sample=50, ann_candidates=30, neighbors=5, rescore_candidates=10, cross_domain_neighbors=5
    )
    catalog = Catalog(settings)
    vectors = clustered(1240, 32, clusters=30, seed=5, spread=0.25)
    for i, vector in enumerate(vectors[:1200]):
        catalog.add(f"rec-{i:04d}", "recording", vector)
    for i, vector in enumerate(vectors[1200:]):
        catalog.add(f"movie-{i:04d}", "movie", vector)
    catalog.write()
    import pipelines.similarity as similarity

    scanned = []
    exact = similarity.cross_top_k
    monkeypatch.setattr(
        similarity, "cross_top_k", lambda q, c, *a, **k: scanned.append(len(c)) or exact(q, c, *a, **k)
    )

    run_similarity(settings, NIGHT_1)
    assert scanned and set(scanned) == {40}  # songs scan the 40 films; no film scans the 1,200 songs
    rows = query(
        settings,
        """
        SELECT work_id, neighbor_work_id FROM similarity.work_neighbors
        WHERE is_cross_domain AND work_id LIKE 'movie-%' ORDER BY work_id, rank
        """,
    )
    found: dict[str, set[str]] = {}
    for work, neighbour in rows:
        found.setdefault(work, set()).add(neighbour)
    assert len(found) == 40 and all(len(ns) == 5 and all(n.startswith("rec-") for n in ns) for ns in found.values())
    songs = np.stack([catalog.embeddings[f"rec-{i:04d}"] for i in range(1200)])
    films = np.stack([catalog.embeddings[f"movie-{i:04d}"] for i in range(40)])
    truth = np.argsort(-(films @ songs.T), axis=1, kind="stable")[:, :10]
    # every neighbour kept is among the film's 10 truly nearest songs (the rescoring may reorder within them)
    near = sum(len(found[f"movie-{i:04d}"] & {f"rec-{j:04d}" for j in truth[i]}) for i in range(40))
    assert near / 200 >= 0.95


def test_a_domain_whose_works_all_left_is_emptied(catalog):
    run_similarity(catalog.settings, NIGHT_1)
    for work in [w for w in catalog.kinds if w.startswith(("movie-", "ep-"))]:
        catalog.remove(work)
    catalog.write()
    summary = run_similarity(catalog.settings, NIGHT_2)
    assert {d.domain: (d.works, d.removed) for d in summary.domains}["video"] == (0, 9)
    assert not [w for w in lists(catalog.settings) if not w.startswith("rec-")]
    assert query(catalog.settings, "SELECT DISTINCT domain FROM similarity.work_vectors_state") == [("music-recording",)]
    assert summary.recomputed == 0
