"""Writing a generated landing: night 0 (the full catalog) and K follow-up nights, as files ingest reads.

    <out>/registry.yaml, <out>/partners/*.yaml, <out>/generated.json (what was asked and written per night)
    <out>/music/<label>/<date>/ERN43_<code>_<night>_<n>.xml      New-, Update- and PurgeReleaseMessages
    <out>/video/<studio>/<date>/ADI_<code>_<night>_<n>.xml       ADI 1.1 packages
    <out>/articles/<publisher>/<date>/articles_<night>_<n>.jsonl
    <out>/ads/<advertiser>/<date>/creatives_<night>.jsonl

Each file is one task (a message of up to ALBUMS_PER_MESSAGE albums, a package of up to TITLES_PER_PACKAGE
titles, up to ARTICLES_PER_FILE articles) rendered from the seed alone, so tasks run in any order in any
number of processes and the bytes stay the same. Night k's files depend only on the seed and nights 0..k:
generating more nights into the same folder leaves the earlier nights' files byte-identical.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

import yaml

from pipelines.generate import adi, articles, creatives, ern
from pipelines.generate.catalog import (
    ADVERTISERS,
    NIGHTLY_CHANGE,
    PUBLISHERS,
    CatalogShape,
    CatalogState,
    Edits,
    NightChanges,
    night_date,
    rng_for,
)

ALBUMS_PER_MESSAGE = 40  # about 560 recordings, 1.3 MB: files of bounded size, not one per album
ARTICLES_PER_FILE = 5_000
PUBLISHER_SHARES = (0.7, 0.3)  # Japanese, English
ARTICLE_REVISIONS = 0.002  # of the articles, revised each follow-up night
MANIFEST = "generated.json"
WRITTEN_FOLDERS = ("music", "video", "articles", "ads", "partners")
PARTNERS = {
    "melody-stream": {
        "partner_id": "melody-stream",
        "name": "Melody Stream Inc.",
        "feed": "works",
        "work_kinds": ["recording", "release"],
        "territories": ["JP"],
        "commercial_models": ["SubscriptionModel", "AdvertisementSupportedModel"],
        "use_types": ["Stream", "OnDemandStream"],
        "format": "jsonl",
        "required_fields": ["work_id", "kind", "title", "title_ja", "territories", "licence_windows"],
    },
    "cinema-now": {
        "partner_id": "cinema-now",
        "name": "Cinema Now VOD",
        "feed": "works",
        "work_kinds": ["movie", "episode"],
        "territories": ["JP"],
        "commercial_models": ["SubscriptionModel"],
        "use_types": ["Stream"],
        "format": "jsonl",
        "required_fields": ["work_id", "kind", "title", "territories", "licence_windows"],
    },
}


@dataclass(frozen=True)
class Request:
    """What `msdb generate` was asked for."""

    works: int
    articles: int
    holders: int
    nights: int
    seed: int
    start: date
    creatives: int

    @property
    def shape(self) -> CatalogShape:
        return CatalogShape.of(self.works, self.holders)


@dataclass
class Written:
    """What one task wrote."""

    night: int
    kind: str
    files: int = 1
    records: int = 0  # what ingest will count as found in the file
    works: int = 0  # recordings and video titles delivered (new, changed or withdrawn)
    items: int = 0  # articles or creatives
    bytes: int = 0


@dataclass
class NightSummary:
    night: int
    date: str
    files: int = 0
    bytes: int = 0
    records: int = 0
    works: int = 0
    recordings: int = 0
    videos: int = 0
    articles: int = 0
    creatives: int = 0
    changes: dict[str, int] = field(default_factory=dict)  # works per kind of change (follow-up nights)

    def add(self, written: Written) -> None:
        self.files += written.files
        self.bytes += written.bytes
        self.records += written.records
        if written.kind == "music":
            self.recordings += written.works
        elif written.kind == "video":
            self.videos += written.works
        elif written.kind == "articles":
            self.articles += written.items
        elif written.kind == "ads":
            self.creatives += written.items
        self.works = self.recordings + self.videos


# --- tasks: one file each, rendered from the seed ---------------------------------------------------------------


@dataclass(frozen=True)
class MusicFile:
    path: str
    night: int
    message_type: str
    message_id: str
    created: str
    label: int
    albums: tuple[tuple[int, int, Edits | None], ...]  # (album, tracks, edits so far)
    takedown_on: date | None = None


@dataclass(frozen=True)
class VideoFile:
    path: str
    night: int
    package_id: str
    studio: int
    created: date
    titles: tuple[tuple[int, Edits | None, bool], ...]  # (title, edits so far, delete?)


@dataclass(frozen=True)
class ArticleFile:
    path: str
    night: int
    publisher: int
    numbers: tuple[int, int]  # articles [first, last) of the publisher
    published: date | None  # None: night 0's back catalogue, spread over the year before
    revisions: tuple[int, ...] = ()  # earlier articles revised this night
    revised_on: date | None = None


@dataclass(frozen=True)
class CreativeFile:
    path: str
    night: int
    advertiser: int
    numbers: tuple[int, ...]
    day: date


def _open(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("w", encoding="utf-8", newline="\n", buffering=1 << 20)


def _article(request: Request, publisher: int, number: int, published: date | None) -> dict:
    publisher_id, _name, language, _tz = PUBLISHERS[publisher]
    rng = rng_for(request.seed, "article", publisher, number)
    if published is None:  # the back catalogue: one article a day or more over the year before night 0
        published = request.start - timedelta(days=1 + number % 365)
    offset = "+09:00" if language == "ja" else "+00:00"
    when = f"{published.isoformat()}T{6 + number % 14:02d}:{number % 60:02d}:00{offset}"
    make = articles.japanese_article if language == "ja" else articles.english_article
    return make(number, rng, f"{publisher_id}.example", when)


def write_task(task, request: Request) -> Written:
    """Render one file (in whichever process runs it)."""
    shape = request.shape
    path = Path(task.path)
    if isinstance(task, MusicFile):
        written = Written(task.night, "music")
        albums = [
            ern.album(request.seed, shape, index, size, request.start, edits)
            for index, size, edits in task.albums
        ]
        with _open(path) as out:
            if task.message_type == "PurgeReleaseMessage":
                written.records = ern.write_purge(
                    out, task.message_id, task.created, task.label, albums, shape
                )
            else:
                written.records = ern.write_message(
                    out,
                    task.message_type,
                    task.message_id,
                    task.created,
                    task.label,
                    albums,
                    shape,
                    task.takedown_on,
                )
        written.works = sum(item.size for item in albums)
    elif isinstance(task, VideoFile):
        written = Written(task.night, "video")
        titles = [
            (adi.video_title(request.seed, shape, index, request.start, edits), delete)
            for index, edits, delete in task.titles
        ]
        with _open(path) as out:
            written.records = adi.write_package(
                out, task.package_id, task.studio, titles, shape, task.created
            )
        written.works = len(titles)
    elif isinstance(task, ArticleFile):
        written = Written(task.night, "articles")
        with _open(path) as out:
            for number in range(*task.numbers):
                out.write(
                    json.dumps(_article(request, task.publisher, number, task.published), ensure_ascii=False)
                    + "\n"
                )
            for number in task.revisions:
                item = _article(request, task.publisher, number, None)
                rng = rng_for(request.seed, "revision", task.publisher, number, task.night)
                out.write(json.dumps(articles.revised(item, rng, task.revised_on), ensure_ascii=False) + "\n")
        written.items = written.records = task.numbers[1] - task.numbers[0] + len(task.revisions)
    else:
        written = Written(task.night, "ads")
        advertiser = ADVERTISERS[task.advertiser][0]
        with _open(path) as out:
            for number in task.numbers:
                rng = rng_for(request.seed, "creative", number)
                out.write(
                    json.dumps(creatives.creative(number, advertiser, rng, task.day), ensure_ascii=False)
                    + "\n"
                )
        written.items = written.records = len(task.numbers)
    written.bytes = path.stat().st_size
    return written


# --- planning: which tasks each night has ----------------------------------------------------------------------


def _created(day: date, sequence: int) -> str:
    """MessageCreatedDateTime: 02:00 JST on the night's date plus one second per message, so every message of
    a sender has its own time (a resend is known by id, time and sender)."""
    minutes, seconds = divmod(sequence, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{day.isoformat()}T{2 + hours:02d}:{minutes:02d}:{seconds:02d}+09:00"


class _Sequence:
    """File numbers per (holder, night), so names and message ids never repeat."""

    def __init__(self) -> None:
        self.next: dict[tuple[str, int], int] = {}

    def __call__(self, holder: str, night: int) -> int:
        number = self.next.get((holder, night), 0)
        self.next[(holder, night)] = number + 1
        return number


def _music_task(
    out: Path, request, night, day, label, message_type, albums, sequence, takedown_on=None
) -> MusicFile:
    shape = request.shape
    label_id = shape.labels[label][0]
    code = shape.label_code(label)
    number = sequence(label_id, night)
    name = f"ERN43_{code}_{night:03d}_{number:05d}"
    return MusicFile(
        str(out / "music" / label_id / day.isoformat() / f"{name}.xml"),
        night,
        message_type,
        f"{code}N{night:03d}F{number:05d}.1",
        _created(day, number),
        label,
        tuple(albums),
        takedown_on,
    )


def _video_tasks(
    out: Path, request, night, day, titles: Iterable[tuple[int, Edits | None, bool]], sequence
) -> Iterator[VideoFile]:
    """Titles into packages per studio, TITLES_PER_PACKAGE at most, in title order."""
    shape = request.shape
    batches: dict[int, list] = {}

    def package(studio: int, batch: list) -> VideoFile:
        studio_id = shape.studios[studio][0]
        number = sequence(studio_id, night)
        name = f"ADI_G{studio:02d}_{night:03d}_{number:05d}"
        return VideoFile(
            str(out / "video" / studio_id / day.isoformat() / f"{name}.xml"),
            night,
            f"G{studio:02d}P{night:03d}{number:09d}",
            studio,
            day,
            tuple(batch),
        )

    for entry in titles:
        studio = adi.video_place(entry[0], len(shape.studios))[2]
        batch = batches.setdefault(studio, [])
        batch.append(entry)
        if len(batch) == adi.TITLES_PER_PACKAGE:
            yield package(studio, batch)
            batches[studio] = []
    for studio in sorted(batches):
        if batches[studio]:
            yield package(studio, batches[studio])


def _article_tasks(
    out: Path,
    night: int,
    day: date,
    counts: list[int],
    new: list[int],
    revisions: list[list[int]],
    published: date | None,
):
    """New articles [counts[p], counts[p] + new[p]) per publisher in files of ARTICLES_PER_FILE; revisions
    ride in the night's last file of the publisher."""
    for publisher, (publisher_id, *_rest) in enumerate(PUBLISHERS):
        first, last = counts[publisher], counts[publisher] + new[publisher]
        starts = list(range(first, last, ARTICLES_PER_FILE)) or [first]
        for number, start in enumerate(starts):
            stop = min(start + ARTICLES_PER_FILE, last)
            final = number == len(starts) - 1
            if stop == start and not (final and revisions[publisher]):
                continue
            yield ArticleFile(
                str(
                    out
                    / "articles"
                    / publisher_id
                    / day.isoformat()
                    / f"articles_{night:03d}_{number:05d}.jsonl"
                ),
                night,
                publisher,
                (start, stop),
                published,
                tuple(revisions[publisher]) if final else (),
                day if final else None,
            )


def _creative_tasks(out: Path, night: int, day: date, numbers: range):
    for advertiser, (advertiser_id, _name) in enumerate(ADVERTISERS):
        mine = tuple(n for n in numbers if n % len(ADVERTISERS) == advertiser)
        if mine:
            yield CreativeFile(
                str(out / "ads" / advertiser_id / day.isoformat() / f"creatives_{night:03d}.jsonl"),
                night,
                advertiser,
                mine,
                day,
            )


def _first_night(out: Path, request: Request, state: CatalogState, sequence) -> Iterator:
    shape, day = request.shape, request.start
    pending: dict[int, list] = {}
    for album in range(len(state.albums)):
        label = album % len(shape.labels)
        batch = pending.setdefault(label, [])
        batch.append((album, state.albums.sizes[album], None))
        if len(batch) == ALBUMS_PER_MESSAGE:
            yield _music_task(out, request, 0, day, label, "NewReleaseMessage", batch, sequence)
            pending[label] = []
    for label in sorted(pending):
        if pending[label]:
            yield _music_task(out, request, 0, day, label, "NewReleaseMessage", pending[label], sequence)
    yield from _video_tasks(out, request, 0, day, ((v, None, False) for v in range(state.videos)), sequence)


def _snapshot(edits: Edits | None) -> Edits | None:
    """The edits as they stand tonight: a task may be pickled for a writer after later nights changed them."""
    return replace(edits) if edits else None


def _follow_up_night(
    out: Path, request: Request, state: CatalogState, changes: NightChanges, day: date, sequence
) -> Iterator:
    shape, night = request.shape, changes.night
    sizes = state.albums.sizes

    def by_label(albums: list[int]) -> dict[int, list]:
        grouped: dict[int, list] = {}
        for album in sorted(albums):
            grouped.setdefault(album % len(shape.labels), []).append(
                (album, sizes[album], _snapshot(state.album_edits.get(album)))
            )
        return grouped

    for label, batch in sorted(by_label(changes.new_albums).items()):
        for start in range(0, len(batch), ALBUMS_PER_MESSAGE):
            yield _music_task(
                out,
                request,
                night,
                day,
                label,
                "NewReleaseMessage",
                batch[start : start + ALBUMS_PER_MESSAGE],
                sequence,
            )
    for label, batch in sorted(by_label(changes.updated_albums + changes.ended_albums).items()):
        yield _music_task(out, request, night, day, label, "UpdateReleaseMessage", batch, sequence)
    for label, batch in sorted(by_label(changes.takedown_albums).items()):
        yield _music_task(
            out, request, night, day, label, "UpdateReleaseMessage", batch, sequence, takedown_on=day
        )
    for label, batch in sorted(by_label(changes.purged_albums).items()):
        yield _music_task(out, request, night, day, label, "PurgeReleaseMessage", batch, sequence)
    deleted = set(changes.deleted_videos)
    titles = sorted(
        changes.new_videos + changes.updated_videos + changes.ended_videos + changes.deleted_videos
    )
    yield from _video_tasks(
        out,
        request,
        night,
        day,
        ((v, _snapshot(state.video_edits.get(v)), v in deleted) for v in titles),
        sequence,
    )


def plan(out: Path, request: Request) -> Iterator[tuple[int, date, object]]:
    """(night, date, item) for every file of every night, night by night. Each night starts with an item that
    is None (night 0) or the night's NightChanges (what changed, for the summary); the other items are tasks."""
    state = CatalogState(request.seed, request.shape)
    sequence = _Sequence()
    counts = [0 for _ in PUBLISHERS]
    back_catalogue = counts  # articles of night 0: the ones later nights revise
    for night in range(request.nights + 1):
        day = night_date(request.start, night)
        if night == 0:
            yield night, day, None
            yield from ((0, day, task) for task in _first_night(out, request, state, sequence))
            new = [round(request.articles * share) for share in PUBLISHER_SHARES]
            new[0] = request.articles - sum(new[1:])
            revisions: list[list[int]] = [[] for _ in PUBLISHERS]
            published, creative_numbers = None, range(request.creatives)
        else:
            changes = state.plan_night(night, day)
            yield night, day, changes
            yield from (
                (night, day, task) for task in _follow_up_night(out, request, state, changes, day, sequence)
            )
            rng = rng_for(request.seed, "articles", night)
            new = [round(count * NIGHTLY_CHANGE) if count else 0 for count in counts]
            revisions = [
                sorted(rng.sample(range(count), min(count, round(count * ARTICLE_REVISIONS))))
                for count in back_catalogue
            ]
            first = request.creatives + (night - 1) * max(1, round(request.creatives * NIGHTLY_CHANGE))
            published = day
            creative_numbers = range(first, first + max(1, round(request.creatives * NIGHTLY_CHANGE)))
        yield from (
            (night, day, task) for task in _article_tasks(out, night, day, counts, new, revisions, published)
        )
        counts = [count + added for count, added in zip(counts, new, strict=True)]
        if night == 0:
            back_catalogue = counts
        yield from ((night, day, task) for task in _creative_tasks(out, night, day, creative_numbers))


def _registry(request: Request) -> dict:
    shape = request.shape
    holders = [{"id": i, "name": n, "kind": "music", "timezone": "Asia/Tokyo"} for i, n in shape.labels]
    holders += [
        {"id": i, "name": n, "kind": "video", "timezone": "Asia/Tokyo", "licence_territories": ["JP"]}
        for i, n in shape.studios
    ]
    holders += [
        {"id": i, "name": n, "kind": "articles", "default_language": lang, "timezone": tz}
        for i, n, lang, tz in PUBLISHERS
    ]
    holders += [{"id": i, "name": n, "kind": "ads", "timezone": "Asia/Tokyo"} for i, n in ADVERTISERS]
    return {"holders": holders}


def _prepare(out: Path) -> None:
    """An empty folder, or one this command wrote before (its folders are replaced); never anything else."""
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST).exists():
        raise FileExistsError(
            f"{out} is not empty and was not written by msdb generate: choose another --out"
        )
    for name in WRITTEN_FOLDERS:
        shutil.rmtree(out / name, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)


def _run(tasks: Iterable, request: Request, workers: int, on_written: Callable[[Written], None]) -> None:
    """Run tasks in `workers` processes with a bounded number in flight (1: in this process)."""
    if workers <= 1:
        for task in tasks:
            on_written(write_task(task, request))
        return
    in_flight: list[Future] = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for task in tasks:
            in_flight.append(pool.submit(write_task, task, request))
            if len(in_flight) >= workers * 4:
                on_written(in_flight.pop(0).result())
        for future in in_flight:
            on_written(future.result())


def generate_landing(out: Path, request: Request, workers: int = 1) -> list[NightSummary]:
    """Write the landing; returns one summary per night (also written to <out>/generated.json)."""
    _prepare(out)
    shape = request.shape
    (out / "registry.yaml").write_text(
        yaml.safe_dump(_registry(request), allow_unicode=True, sort_keys=False), "utf-8"
    )
    partners = ["melody-stream", *(["cinema-now"] if shape.studios else [])]
    (out / "partners").mkdir()
    for partner in partners:
        (out / "partners" / f"{partner}.yaml").write_text(
            yaml.safe_dump(PARTNERS[partner], sort_keys=False), "utf-8"
        )
    nights: list[NightSummary] = []

    def tasks() -> Iterator:
        for night, day, item in plan(out, request):
            if item is None or isinstance(item, NightChanges):
                nights.append(NightSummary(night, day.isoformat(), changes=dict(item.works) if item else {}))
                continue
            yield item

    _run(tasks(), request, workers, lambda written: nights[written.night].add(written))
    manifest = {
        "request": asdict(request) | {"start": request.start.isoformat()},
        "nights": [asdict(n) for n in nights],
    }
    (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return nights


def summary_tables(nights: list[NightSummary]) -> list:
    """What `msdb generate` prints: per night what was written (night 0: the catalog; later nights: the works
    delivered again or anew), then what each follow-up night changed, in works."""
    from rich.table import Table

    written = Table(title="generated landing")
    for column in ("night", "date", "files", "MB", "recordings", "videos", "articles", "creatives"):
        written.add_column(column, justify="left" if column in ("night", "date") else "right", no_wrap=True)
    for night in nights:
        written.add_row(
            str(night.night), night.date, f"{night.files:,}", f"{night.bytes / 1e6:,.1f}", f"{night.recordings:,}",
            f"{night.videos:,}", f"{night.articles:,}", f"{night.creatives:,}",
        )  # fmt: skip
    changed = Table(title="works changed per follow-up night")
    for column in ("night", "new", "updated", "window ends", "takedowns", "% of works"):
        changed.add_column(column, justify="right", no_wrap=True)
    catalog = nights[0].works if nights else 0
    for night in nights[1:]:
        counts = [night.changes.get(k, 0) for k in ("new", "update", "window_end", "takedown")]
        changed.add_row(
            str(night.night), *(f"{c:,}" for c in counts), f"{100 * sum(counts) / max(catalog, 1):.2f}"
        )
        catalog += night.changes.get("new", 0)
    return [written, changed] if nights[1:] else [written]
