"""The catalog plan: how works split into albums and titles, and what follow-up nights change."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.generate.catalog import AlbumSizes, CatalogShape, CatalogState, _split


@pytest.mark.parametrize(
    ("works", "holders", "labels", "studios", "recordings"),
    [(1000, 1, 1, 0, 1000), (1000, 2, 1, 1, 900), (1_000_000, 8, 6, 2, 900_000), (5, 4, 4, 0, 5)],
)
def test_works_split_into_labels_studios_and_recordings(works, holders, labels, studios, recordings):
    shape = CatalogShape.of(works, holders)
    assert (len(shape.labels), len(shape.studios), shape.recordings, shape.videos) == (
        labels, studios, recordings, works - recordings,
    )  # fmt: skip


def test_albums_hold_8_to_20_recordings_and_add_up():
    sizes = AlbumSizes.first_night(seed=3, recordings=10_000)
    assert sizes.recordings == 10_000 and sum(sizes.sizes) == 10_000
    assert all(8 <= size <= 20 for size in sizes.sizes[:-1]) and 1 <= sizes.sizes[-1] <= 20
    assert sizes.album_of(0) == 0 and sizes.album_of(9_999) == len(sizes) - 1


@pytest.mark.parametrize(
    ("budget", "split"), [(1, (1, 0, 0, 0)), (3, (1, 1, 1, 0)), (50, (20, 15, 10, 5)), (51, (21, 15, 10, 5))]
)
def test_a_nights_budget_splits_into_whole_works(budget, split):
    shares = _split(budget)
    assert (shares["new"], shares["update"], shares["window_end"], shares["takedown"]) == split


def test_nights_change_about_one_percent_and_never_touch_a_withdrawn_work_again():
    state = CatalogState(5, CatalogShape.of(50_000, 8))
    withdrawn: set[int] = set()
    for night in range(1, 8):
        before = state.works
        changes = state.plan_night(night, date(2026, 11, 20 + night))
        changed = sum(changes.works.values())
        assert 0.008 * before <= changed <= 0.012 * before
        touched = set(
            changes.updated_albums + changes.ended_albums + changes.takedown_albums + changes.purged_albums
        )
        assert not touched & withdrawn
        withdrawn |= set(changes.takedown_albums + changes.purged_albums)
    assert state.works > 50_000 and withdrawn == state.withdrawn_albums
