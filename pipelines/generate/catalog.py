"""What the generated catalog holds, decided from the seed alone: holders, albums, video titles, and what
each follow-up night changes.

Every album and title is a pure function of (seed, its index): a writer process renders any of them without
the others, and a file's bytes never depend on how the work was split between processes. The parent keeps
only the album sizes (two small integers per album: about 1 MB for a million works) and, across nights, the
few albums and titles already changed (about 1% of the works per night).
"""

from __future__ import annotations

import random
import zlib
from array import array
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, timedelta

from pipelines.generate import vocabulary as words

RECORDING_SHARE = 0.9  # of the works, when there is a studio to deliver the rest as video titles
MIN_TRACKS, MAX_TRACKS = 8, 20
MOVIE_SHARE = 3  # of every 10 video titles; the rest are episodes
EPISODES_PER_SEASON, SEASONS_PER_SERIES = 12, 2
NIGHTLY_CHANGE = 0.01  # of the works, each follow-up night
# How a night's changes split: new releases, updates (title/genre), window ends, takedowns
CHANGE_SPLIT = {"new": 0.4, "update": 0.3, "window_end": 0.2, "takedown": 0.1}

LABEL_NAMES = [
    ("hoshizora-records", "Hoshizora Records K.K."),
    ("tsukiyo-label", "Tsukiyo Label"),
    ("minato-music", "Minato Music"),
    ("kazeoto-records", "Kazeoto Records"),
    ("yuuhi-sound", "Yuuhi Sound Works"),
    ("sakamichi-music", "Sakamichi Music Inc."),
]
STUDIO_NAMES = [
    ("akatsuki-pictures", "Akatsuki Pictures"),
    ("umibe-studio", "Umibe Studio"),
    ("shirakumo-films", "Shirakumo Films"),
]
PUBLISHERS = [
    ("kurashi-journal", "Kurashi Journal", "ja", "Asia/Tokyo"),
    ("lantern-weekly", "Lantern Weekly", "en", "Europe/London"),
]
ADVERTISERS = [
    ("hanami-travel", "Hanami Travel"),
    ("kissa-coffee", "Kissa Coffee Roasters"),
    ("aoba-fashion", "Aoba Fashion"),
]


def stable_int(*parts: object) -> int:
    """A number from the parts that is the same in every process and run (unlike hash())."""
    return zlib.crc32(":".join(map(str, parts)).encode())


def rng_for(seed: int, *parts: object) -> random.Random:
    """random.Random seeded from a string: seeded through SHA-512, so stable across runs and platforms."""
    return random.Random(":".join(map(str, (seed, *parts))))


def _code(index: int, width: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    for _ in range(width):
        index, rest = divmod(index, 36)
        out = digits[rest] + out
    if index:
        raise ValueError("too many holders for the generated codes")
    return out


def _named(names: list[tuple[str, str]], count: int) -> list[tuple[str, str]]:
    """count holders from the list, numbered once the list runs out (hoshizora-records-2 ...)."""
    out = []
    for n in range(count):
        holder_id, name = names[n % len(names)]
        round_ = n // len(names)
        out.append((f"{holder_id}-{round_ + 1}", f"{name} {round_ + 1}") if round_ else (holder_id, name))
    return out


@dataclass(frozen=True)
class CatalogShape:
    """How --works and --holders split into labels, studios, recordings and video titles."""

    works: int
    recordings: int
    videos: int
    labels: list[tuple[str, str]]
    studios: list[tuple[str, str]]

    @classmethod
    def of(cls, works: int, holders: int) -> CatalogShape:
        if holders < 1:
            raise ValueError("--holders must be at least 1")
        studio_count = max(1, holders // 4) if holders >= 2 and works >= 10 else 0
        recordings = round(works * RECORDING_SHARE) if studio_count else works
        return cls(
            works,
            recordings,
            works - recordings,
            _named(LABEL_NAMES, holders - studio_count),
            _named(STUDIO_NAMES, studio_count),
        )

    def label_code(self, label: int) -> str:
        return "Z" + _code(label, 2)  # an ISRC registrant code no one holds


def album_size(seed: int, album: int) -> int:
    return MIN_TRACKS + stable_int(seed, "tracks", album) % (MAX_TRACKS - MIN_TRACKS + 1)


class AlbumSizes:
    """Tracks per album and where each album's recordings start in the catalog's recording order."""

    def __init__(self) -> None:
        self.sizes = array("B")
        self.starts = array("Q")
        self.recordings = 0

    def add(self, size: int) -> int:
        self.sizes.append(size)
        self.starts.append(self.recordings)
        self.recordings += size
        return len(self.sizes) - 1

    def __len__(self) -> int:
        return len(self.sizes)

    def album_of(self, recording: int) -> int:
        return bisect_right(self.starts, recording) - 1

    @classmethod
    def first_night(cls, seed: int, recordings: int) -> AlbumSizes:
        """Albums of 8-20 tracks until the recordings are all placed; the last one takes what is left."""
        sizes = cls()
        while sizes.recordings < recordings:
            sizes.add(min(album_size(seed, len(sizes)), recordings - sizes.recordings))
        return sizes


# --- what a night changes -------------------------------------------------------------------------------------


@dataclass
class Edits:
    """What follow-up nights changed in one album or title so far (later deliveries repeat it)."""

    version: int = 1
    retitled: int = 0  # how many times the title changed (0: as first delivered)
    genre_shift: int = 0
    window_end: date | None = None  # the JP (album) or licensing (title) window ends on this date


@dataclass
class NightChanges:
    """One follow-up night: which albums and titles are new, updated, end a window or are taken down."""

    night: int
    new_albums: list[int] = field(default_factory=list)
    new_videos: list[int] = field(default_factory=list)
    updated_albums: list[int] = field(default_factory=list)
    updated_videos: list[int] = field(default_factory=list)
    ended_albums: list[int] = field(default_factory=list)
    ended_videos: list[int] = field(default_factory=list)
    takedown_albums: list[int] = field(default_factory=list)  # by a TakeDown deal in an update
    purged_albums: list[int] = field(default_factory=list)  # by a PurgeReleaseMessage
    deleted_videos: list[int] = field(default_factory=list)  # by an ADI package with Verb DELETE
    works: dict[str, int] = field(default_factory=dict)  # works changed per kind of change


def _split(budget: int) -> dict[str, int]:
    """The budget in whole works per kind of change, as CHANGE_SPLIT says, adding up to the budget (largest
    remainders first): a night of 1 changed work still has that one."""
    exact = {kind: budget * share for kind, share in CHANGE_SPLIT.items()}
    shares = {kind: int(value) for kind, value in exact.items()}
    by_remainder = sorted(CHANGE_SPLIT, key=lambda kind: shares[kind] - exact[kind])
    for kind in by_remainder[: budget - sum(shares.values())]:
        shares[kind] += 1
    return shares


class CatalogState:
    """The catalog as the nights leave it: sizes of every album, titles delivered, and the edits so far."""

    def __init__(self, seed: int, shape: CatalogShape):
        self.seed = seed
        self.shape = shape
        self.albums = AlbumSizes.first_night(seed, shape.recordings)
        self.videos = shape.videos
        self.album_edits: dict[int, Edits] = {}
        self.video_edits: dict[int, Edits] = {}
        self.withdrawn_albums: set[int] = set()
        self.withdrawn_videos: set[int] = set()

    @property
    def works(self) -> int:
        return self.albums.recordings + self.videos

    def plan_night(self, night: int, day: date) -> NightChanges:
        """About NIGHTLY_CHANGE of the works change, split as CHANGE_SPLIT says; an album counts all its
        recordings, so the figures land near, not exactly on, the budget."""
        rng = rng_for(self.seed, "night", night)
        budget = max(1, round(self.works * NIGHTLY_CHANGE))
        shares = _split(budget)
        changes = NightChanges(night)
        touched_albums: set[int] = set()
        touched_videos: set[int] = set()
        for kind in ("update", "window_end", "takedown"):  # existing works first, then the new ones
            changes.works[kind] = self._pick_existing(
                rng, kind, shares[kind], changes, touched_albums, touched_videos, day
            )
        changes.works["new"] = self._add_new(rng, shares["new"], changes)
        return changes

    def _pick_existing(self, rng, kind, budget, changes, touched_albums, touched_videos, day) -> int:
        filled = attempts = 0
        while filled < budget and attempts < 200:
            attempts += 1
            work = rng.randrange(self.works)
            if work < self.albums.recordings:
                album = self.albums.album_of(work)
                size = self.albums.sizes[album]
                if album in touched_albums or album in self.withdrawn_albums:
                    continue
                if size > budget - filled and (filled or attempts < 50):
                    continue  # larger than what is left: look for a smaller album or a title, else stop short
                touched_albums.add(album)
                filled += size
                self._apply_album(kind, album, rng, changes, day)
            else:
                video = work - self.albums.recordings
                if video in touched_videos or video in self.withdrawn_videos:
                    continue
                touched_videos.add(video)
                filled += 1
                self._apply_video(kind, video, changes, day)
        return filled

    def _apply_album(self, kind: str, album: int, rng, changes: NightChanges, day: date) -> None:
        edits = self.album_edits.setdefault(album, Edits())
        edits.version += 1
        if kind == "update":
            edits.retitled += 1
            edits.genre_shift += 1
            changes.updated_albums.append(album)
        elif kind == "window_end":
            edits.window_end = day
            changes.ended_albums.append(album)
        else:
            self.withdrawn_albums.add(album)
            (changes.purged_albums if rng.random() < 0.5 else changes.takedown_albums).append(album)

    def _apply_video(self, kind: str, video: int, changes: NightChanges, day: date) -> None:
        edits = self.video_edits.setdefault(video, Edits())
        edits.version += 1
        if kind == "update":
            edits.retitled += 1
            edits.genre_shift += 1
            changes.updated_videos.append(video)
        elif kind == "window_end":
            edits.window_end = day
            changes.ended_videos.append(video)
        else:
            self.withdrawn_videos.add(video)
            changes.deleted_videos.append(video)

    def _add_new(self, rng, budget: int, changes: NightChanges) -> int:
        filled = 0
        while filled < budget:
            left = budget - filled
            if self.shape.studios and (left < MIN_TRACKS or rng.random() < 1 - RECORDING_SHARE):
                changes.new_videos.append(self.videos)
                self.videos += 1
                filled += 1
                continue
            size = min(
                album_size(self.seed, len(self.albums)), left
            )  # a new single or EP when little is left
            changes.new_albums.append(self.albums.add(size))
            filled += size
        return filled


def night_date(start: date, night: int) -> date:
    return start + timedelta(days=night)


def title_words(rng: random.Random) -> tuple[str, str, str]:
    """One title in Japanese, romanised and English, from the same mood/scene/season/noun."""
    shape = rng.randrange(len(words.TITLE_SHAPES_JA))
    picks = {
        "mood": rng.choice(words.MOODS),
        "scene": rng.choice(words.SCENES),
        "season": rng.choice(words.SEASONS),
        "noun": rng.choice(words.NOUNS),
    }
    return tuple(  # type: ignore[return-value]
        shapes[shape].format(**{k: v[script] for k, v in picks.items()})
        for script, shapes in enumerate(
            (words.TITLE_SHAPES_JA, words.TITLE_SHAPES_LATN, words.TITLE_SHAPES_EN)
        )
    )
