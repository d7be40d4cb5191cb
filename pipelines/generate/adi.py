"""CableLabs ADI 1.1 packages for generated video titles: movies, and episodes of series with seasons.

Every title has a valid EIDR. Title `v` is a movie or an episode by a fixed pattern (3 movies in every 10 titles; episodes fill seasons of
12, series of 2 seasons), so any title can be rendered alone. A package file carries several title assets
(each with its movie and poster assets): one file per title would make 100,000 files of a large catalog, and
the ADI reader takes every title asset of a package. A follow-up night re-delivers a title with the next
Version_Major (a new title or genre, or a licensing window that ends that day), or with Verb DELETE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TextIO

from pipelines.generate import vocabulary as words
from pipelines.generate.catalog import (
    EPISODES_PER_SEASON,
    MOVIE_SHARE,
    SEASONS_PER_SERIES,
    CatalogShape,
    Edits,
    rng_for,
    title_words,
)

TITLES_PER_PACKAGE = 50


@dataclass
class VideoTitle:
    index: int
    studio: int
    kind: str  # movie or episode
    title: str
    title_ja: str
    series: tuple[str, str] | None  # (English, Japanese) name of an episode's series
    season: int | None
    episode: int | None
    series_number: int | None
    summary: str
    genres: list[str]
    rating: str
    seconds: int
    year: int
    window: tuple[date, date]
    actors: list[str]
    director: str
    edits: Edits | None = None


def video_place(index: int, studios: int) -> tuple[str, int, int]:
    """(movie or episode, the movie's or the series' number, the studio) of title `index`."""
    block, position = divmod(index, 10)
    if position < MOVIE_SHARE:
        movie = block * MOVIE_SHARE + position
        return "movie", movie, movie % studios
    episode = block * (10 - MOVIE_SHARE) + position - MOVIE_SHARE
    series = episode // (EPISODES_PER_SEASON * SEASONS_PER_SERIES)
    return "episode", series, series % studios


def eidr(studio: int, index: int) -> str:
    """An EIDR content id (10.5240/ + 20 hex digits + ISO 7064 Mod 37,36 check character), fictional."""
    from stdnum.iso7064 import mod_37_36

    digits = f"{0xE000 + studio:04X}{index:016X}"
    groups = "-".join(digits[n : n + 4] for n in range(0, 20, 4))
    return f"10.5240/{groups}-{mod_37_36.calc_check_digit(digits)}"


def _person(rng) -> str:
    family = rng.choice(words.FAMILY_NAMES)[1]
    given = rng.choice(words.GIVEN_NAMES)[1]
    return f"{family},{given}"  # ADI writes last,first


def _synopsis(rng) -> str:
    mood, scene, season, noun = (
        rng.choice(words.MOODS)[2].lower(),
        rng.choice(words.SCENES)[2].lower(),
        rng.choice(words.SEASONS)[2].lower(),
        rng.choice(words.NOUNS)[2].lower(),
    )
    fill = {"mood": mood, "scene": scene, "season": season, "noun": noun}
    return " ".join(
        (
            rng.choice(words.SYNOPSIS_OPENINGS).format(**fill),
            rng.choice(words.SYNOPSIS_PEOPLE),
            rng.choice(words.SYNOPSIS_PLOTS) + ".",
            rng.choice(words.SYNOPSIS_ENDINGS).format(**fill),
        )
    )


def video_title(
    seed: int, shape: CatalogShape, index: int, start: date, edits: Edits | None = None
) -> VideoTitle:
    kind, number, studio = video_place(index, len(shape.studios))
    rng = rng_for(seed, "video", index)
    ja, _latn, en = title_words(rng)
    season = episode = None
    series = None
    if kind == "episode":
        series_rng = rng_for(seed, "series", number)
        series_ja, _s_latn, series_en = title_words(series_rng)
        series = (series_en, series_ja)
        in_series = (index // 10 * (10 - MOVIE_SHARE) + index % 10 - MOVIE_SHARE) % (
            EPISODES_PER_SEASON * SEASONS_PER_SERIES
        )
        season, episode = in_series // EPISODES_PER_SEASON + 1, in_series % EPISODES_PER_SEASON + 1
        title, title_ja = f"{series_en}: {en}", f"{series_ja} 第{episode}話「{ja}」"
        genres = [series_rng.choice(words.VIDEO_GENRES), rng.choice(words.VIDEO_GENRES)]
        seconds = 22 * 60 + rng.randrange(600)
    else:
        title, title_ja = en, ja
        genres = [rng.choice(words.VIDEO_GENRES), rng.choice(words.VIDEO_GENRES)]
        seconds = 85 * 60 + rng.randrange(50 * 60)
    window_start = start - timedelta(days=rng.randrange(720))
    return VideoTitle(
        index=index,
        studio=studio,
        kind=kind,
        title=title,
        title_ja=title_ja,
        series=series,
        season=season,
        episode=episode,
        series_number=number if kind == "episode" else None,
        summary=_synopsis(rng),
        genres=list(dict.fromkeys(genres)),
        rating=rng.choice(words.VIDEO_RATINGS),
        seconds=seconds,
        year=window_start.year - rng.randrange(3),
        window=(window_start, window_start + timedelta(days=365 + rng.randrange(730))),
        actors=[_person(rng) for _ in range(3)],
        director=_person(rng),
        edits=edits,
    )


def _ams(studio_id: str, asset_class: str, asset_id: str, version: int, created: date, verb: str = "") -> str:
    return (
        f'<AMS Asset_Class="{asset_class}" Product="SVOD" Provider="{studio_id.upper()}" Provider_ID="{studio_id}.example" '
        f'Verb="{verb}" Version_Major="{version}" Version_Minor="0" Creation_Date="{created.isoformat()}" '
        f'Description="{asset_id} - {asset_class}" Asset_ID="{asset_id}" Asset_Name="{asset_id}" />'
    )


def _app(name: str, value: object) -> str:
    return f'<App_Data App="SVOD" Name="{name}" Value="{value}" />'


def write_title(
    out: TextIO, item: VideoTitle, shape: CatalogShape, created: date, delete: bool = False
) -> None:
    studio_id = shape.studios[item.studio][0]
    edits = item.edits or Edits()
    title, title_ja, genres = item.title, item.title_ja, item.genres
    if edits.retitled:
        title, title_ja = f"{title} (Director's Cut)", f"{title_ja}（ディレクターズ・カット版）"
        shifted = words.VIDEO_GENRES[
            (words.VIDEO_GENRES.index(genres[0]) + edits.genre_shift) % len(words.VIDEO_GENRES)
        ]
        genres = [shifted, *(g for g in genres if g != shifted)]
    start, end = item.window
    if edits.window_end is not None:
        end = max(edits.window_end, start)
    code = f"G{item.studio:02d}"
    title_id, movie_id, poster_id = (f"{code}{letter}{item.index:013d}" for letter in "TMI")
    verb = "DELETE" if delete else ""
    fields = [_app("Type", "title")]
    if item.kind == "episode":
        fields += [
            _app("Series_Name", item.series[0]),
            _app("Series_Name_Japanese", item.series[1]),
            _app("Series_Id", f"{code}S{item.series_number:08d}"),
        ]
    fields += [
        _app("Title", title),
        _app("Title_Japanese", title_ja),
        _app("Title_Brief", title[:19]),
        _app("EIDR", eidr(item.studio, item.index)),
    ]
    if item.kind == "episode":
        fields += [
            _app("Season_Number", item.season),
            _app("Episode_Number", item.episode),
            _app("Episode_Name", item.title.split(": ", 1)[1]),
        ]
    fields += [
        _app("Summary_Short", item.summary),
        _app("Rating", item.rating),
        _app("Run_Time", f"{item.seconds // 3600:02d}:{item.seconds // 60 % 60:02d}:{item.seconds % 60:02d}"),
        _app("Year", item.year),
        _app("Country_of_Origin", "JP"),
        *(_app("Genre", genre) for genre in genres),
        *(_app("Actors", actor) for actor in item.actors),
        _app("Director", item.director),
        _app("Studio", shape.studios[item.studio][1]),
        _app("Show_Type", "Series" if item.kind == "episode" else "Movie"),
        _app("Licensing_Window_Start", start.isoformat()),
        _app("Licensing_Window_End", end.isoformat()),
    ]
    out.write(
        f"<Asset><Metadata>{_ams(studio_id, 'title', title_id, edits.version, created, verb)}{''.join(fields)}</Metadata>"
        f"<Asset><Metadata>{_ams(studio_id, 'movie', movie_id, edits.version, created, verb)}{_app('Type', 'movie')}"
        f'{_app("HDContent", "Y")}{_app("Languages", "ja")}</Metadata><Content Value="{movie_id}.ts" /></Asset>'
        f"<Asset><Metadata>{_ams(studio_id, 'poster', poster_id, edits.version, created, verb)}{_app('Type', 'poster')}"
        f'{_app("Image_Aspect_Ratio", "1920x1080")}</Metadata><Content Value="{poster_id}.jpg" /></Asset></Asset>\n'
    )


def write_package(
    out: TextIO,
    package_id: str,
    studio: int,
    titles: list[tuple[VideoTitle, bool]],
    shape: CatalogShape,
    created: date,
) -> int:
    """One package of (title, delete?) pairs; returns the records ingest will find (one per title)."""
    studio_id = shape.studios[studio][0]
    out.write(
        '<?xml version="1.0" encoding="UTF-8"?>\n<!-- Generated by msdb generate: fictional studio, titles, cast and '
        f"identifiers. -->\n<ADI>\n<Metadata>{_ams(studio_id, 'package', package_id, 1, created)}"
        f"{_app('Metadata_Spec_Version', 'CableLabsVOD1.1')}</Metadata>\n"
    )
    for item, delete in titles:
        write_title(out, item, shape, created, delete)
    out.write("</ADI>\n")
    return len(titles)
