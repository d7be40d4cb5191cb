"""Neighbours rescored with metadata: duplicates never kept, component shares, config weights, cross-domain."""

from datetime import date

import numpy as np
import pytest

from pipelines.similarity import run_similarity
from tests.similarity.conftest import Catalog, clustered
from tests.similarity.test_run import query

NIGHT_1, NIGHT_2 = date(2026, 11, 24), date(2026, 11, 25)


def unit(*values: float, dims: int = 8) -> np.ndarray:
    vector = np.zeros(dims, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def rows_of(settings, work_id: str) -> list[tuple]:
    return query(
        settings,
        """
        SELECT neighbor_work_id, rank, score, text_share, kansei_share, metadata_share, is_cross_domain
        FROM similarity.work_neighbors WHERE work_id = ? ORDER BY rank
        """,
        [work_id],
    )


def test_self_and_duplicates_are_never_neighbours(similarity_settings):
    settings = similarity_settings()
    catalog = Catalog(settings)
    near = unit(1, 0.05)
    catalog.add("rec-a", "recording", unit(1), isrc="JPAA02600001", title="Blue Night", display_artist="Sora")
    catalog.add("rec-a-again", "recording", unit(1), isrc="JPAA02600001", title="Blue Night (2026)", display_artist="Sora")
    catalog.add("rec-a-retitled", "recording", near, isrc="JPAA02600099", title="BLUE NIGHT ", display_artist="sora")
    catalog.add("rec-other", "recording", unit(1, 0.4), isrc="JPAA02600002", title="Red Morning", display_artist="Sora")
    catalog.add("rec-far", "recording", unit(0, 1), isrc="JPAA02600003", title="Green Noon", display_artist="Umi")
    catalog.add("movie-1", "movie", unit(0, 0, 1), provider_asset_id="ASSET0001", title="Harbour")
    catalog.add("movie-1-again", "movie", unit(0, 0, 1), provider_asset_id="ASSET0001", title="Harbour (HD)")
    catalog.add("movie-2", "movie", unit(0, 0.2, 1), provider_asset_id="ASSET0002", title="Lighthouse")
    catalog.write()
    run_similarity(settings, NIGHT_1)

    within = {w: [n for n, *_, cross in rows_of(settings, w) if not cross] for w in catalog.kinds}
    # same ISRC, same normalised title + artist: each of the three is a duplicate of rec-a
    assert within["rec-a"] == ["rec-other", "rec-far"]
    assert within["rec-a-again"] == ["rec-a-retitled", "rec-other", "rec-far"]  # titles differ, ISRC too
    assert "rec-a" not in within["rec-a-retitled"]
    # same provider asset id
    assert within["movie-1"] == ["movie-2"] and within["movie-1-again"] == ["movie-2"]
    assert query(settings, "SELECT count(*) FROM similarity.work_neighbors WHERE work_id = neighbor_work_id") == [(0,)]


def _query_and_two_candidates(catalog: Catalog) -> None:
    """q; a closer in text (cosine 0.95) with nothing in common; b less close (0.70) but of q's genres."""
    catalog.add("rec-q", "recording", unit(1, 0, 0), genres=["City Pop", "Jazz"], title="Q", display_artist="x")
    catalog.add("rec-a", "recording", unit(0.95, np.sqrt(1 - 0.95**2), 0), genres=["Metal"], title="A", display_artist="y")
    catalog.add("rec-b", "recording", unit(0.7, 0, np.sqrt(1 - 0.49)), genres=["jazz", "city pop"], title="B", display_artist="z")
    catalog.write()


def test_component_shares_sum_to_one_and_say_what_made_the_score(similarity_settings):
    settings = similarity_settings()
    catalog = Catalog(settings)
    _query_and_two_candidates(catalog)
    run_similarity(settings, NIGHT_1)
    # text 0.5, kansei 0.3, metadata 0.2 (genre 0.4 of it): a = 0.5 x 0.95; b = 0.5 x 0.70 + 0.2 x 0.4 x 1.0
    assert rows_of(settings, "rec-q") == [
        ("rec-a", 1, 0.475, 1.0, 0.0, 0.0, False),
        ("rec-b", 2, 0.43, 0.813953, 0.0, 0.186047, False),
    ]
    shares = query(settings, "SELECT max(abs(text_share + kansei_share + metadata_share - 1)) FROM similarity.work_neighbors")
    assert shares[0][0] < 1e-6


def test_config_weights_change_the_ranking(similarity_settings):
    settings = similarity_settings(weights={"text": 0.5, "kansei": 0.3, "metadata": 1.0})
    catalog = Catalog(settings)
    _query_and_two_candidates(catalog)
    run_similarity(settings, NIGHT_1)
    # the metadata weight now outweighs a's closer text: b = (0.35 + 0.4) / 1.8, a = 0.475 / 1.8
    assert [(n, rank, score) for n, rank, score, *_ in rows_of(settings, "rec-q")] == [
        ("rec-b", 1, 0.416667),
        ("rec-a", 2, 0.263889),
    ]


def test_shared_people_label_and_era_count_in_the_metadata_part(similarity_settings):
    settings = similarity_settings(weights={"text": 0.0, "kansei": 0.0, "metadata": 1.0})
    catalog = Catalog(settings)
    catalog.add("rec-q", "recording", unit(1), parties=[("p-sora", "artist"), ("p-label", "label")],
                release_date=date(2020, 5, 1), title="Q")
    catalog.add("rec-people", "recording", unit(1, 0.1), parties=[("p-sora", "composer")], title="P")
    catalog.add("rec-label", "recording", unit(1, 0.2), parties=[("p-label", "label")], title="L")
    catalog.add("rec-era", "recording", unit(1, 0.3), release_date=date(2015, 1, 1), title="E")
    catalog.write()
    run_similarity(settings, NIGHT_1)
    # people 0.3, label 0.15, era 0.15 x (1 - 5 / 10)
    assert [(n, score) for n, _, score, *_ in rows_of(settings, "rec-q")] == [
        ("rec-people", 0.3),
        ("rec-label", 0.15),
        ("rec-era", 0.075),
    ]


@pytest.fixture
def music_and_video(similarity_settings):
    settings = similarity_settings(query_block_rows=4, candidate_block_rows=8)
    catalog = Catalog(settings)
    vectors = clustered(16, 12, clusters=3, seed=5, spread=0.3)
    for i in range(8):
        catalog.add(f"rec-{i}", "recording", vectors[i], {"mood.calm": 0.7} if i % 2 else None, title=f"song {i}")
    catalog.add("series-0", "series", vectors[8], title="Harbour Lights")
    catalog.add("season-0", "season", vectors[9], parent_work_id="series-0", title="Harbour Lights 1", season_number=1)
    for i in range(3):
        catalog.add(f"ep-{i}", "episode", vectors[10 + i], parent_work_id="season-0", title=f"Harbour Lights {i + 1}",
                    series_name="Harbour Lights", season_number=1, episode_number=i + 1)
    for i in range(3):
        catalog.add(f"movie-{i}", "movie", vectors[13 + i], {"mood.calm": 0.6}, title=f"film {i}")
    catalog.write()
    return catalog


def test_every_work_has_neighbours_across_domains_ranked_after_its_own(music_and_video):
    settings = music_and_video.settings
    run_similarity(settings, NIGHT_1)
    kinds = music_and_video.kinds
    for work, kind in kinds.items():
        rows = rows_of(settings, work)
        within = [(n, rank) for n, rank, *_, cross in rows if not cross]
        across = [(n, rank) for n, rank, *_, cross in rows if cross]
        music = kind == "recording"
        assert len(within) == (7 if music else 7)  # 8 recordings, 8 video works (series, season, episodes, films)
        assert [rank for _, rank in within] == list(range(1, 8))
        assert [rank for _, rank in across] == [21, 22, 23, 24, 25]  # after the 20 places of its own domain
        assert all((kinds[n] == "recording") != music for n, _ in across)
        assert all((kinds[n] == "recording") == music for n, _ in within)
    video_neighbours = {n for n, *_ in rows_of(settings, "movie-0")}
    assert {"series-0", "season-0", "ep-0"} <= video_neighbours


def test_a_quiet_night_keeps_cross_domain_rows_and_a_moved_film_recomputes_its_referrers(music_and_video):
    settings = music_and_video.settings
    run_similarity(settings, NIGHT_1)
    before = query(settings, "SELECT * EXCLUDE (logical_date) FROM similarity.work_neighbors ORDER BY ALL")
    summary = run_similarity(settings, NIGHT_2)
    assert summary.recomputed == 0
    assert query(settings, "SELECT * EXCLUDE (logical_date) FROM similarity.work_neighbors ORDER BY ALL") == before

    had_it = {w for (w,) in query(settings, "SELECT work_id FROM similarity.work_neighbors WHERE neighbor_work_id = 'movie-2'")}
    music_and_video.embeddings["movie-2"] = -music_and_video.embeddings["movie-2"]
    music_and_video.write()
    run_similarity(settings, date(2026, 11, 26))
    redone = {w for (w,) in query(settings, "SELECT DISTINCT work_id FROM similarity.work_neighbors WHERE logical_date = '2026-11-26'")}
    assert had_it <= redone and "movie-2" in redone
    assert any(w.startswith("rec-") for w in had_it)  # it was some song's cross-domain neighbour
