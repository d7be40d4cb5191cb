"""`msdb generate`: deterministic landings shaped like real deliveries, for tests and catalog-scale benchmarks.

Night 0 is a full catalog: ERN 4.3 NewReleaseMessages from labels (albums of 8-20 recordings with ISRC,
ICPN, Japanese / romanised / English titles from a fixed vocabulary of moods, scenes and seasons, genres,
deals in JP, US, GB and Worldwide with windows), ADI 1.1 packages from studios (movies, and episodes of
series with seasons, with licensing windows), Japanese and English articles, and ad creatives. Each
follow-up night (a date folder of its own) changes about 1% of the works: new releases, updates (a new
message version with another title and genre), window ends and takedowns (TakeDown deals, PurgeRelease
messages, ADI DELETE). The same arguments give byte-identical files; `--works` counts recordings and video
titles (9 to 1 when there is a studio), not the albums, series and seasons that hold them.

Memory: bounded whatever --works (about 45 MB RSS from 20,000 to 100,000 works). The parent holds 9 bytes
per album (under 1 MB for a million works) and the albums and titles the nights changed; each writer renders
one file at a time (a message of at most 40 albums, a package of at most 50 titles, 5,000 articles),
streaming it to disk item by item; at most 4 tasks per writer process wait in the queue.

Layout and file names: `landing`. What a catalog holds: `catalog`. Formats: `ern`, `adi`, `articles`,
`creatives`.
"""

from __future__ import annotations

from pipelines.generate.landing import NightSummary, Request, generate_landing

__all__ = ["NightSummary", "Request", "generate_landing"]
