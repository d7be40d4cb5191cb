"""The fixed vocabulary every generated text is drawn from: moods, scenes and seasons in Japanese, romanised
and English, so that titles vary the way a label's do and kansei tagging has words to read.

Written for this project; nothing here is third-party text. Each entry of a (ja, romaji, en) list names the
same thing three ways: a Japanese title uses the first, its romanised form the second, an English one the third.
"""

from __future__ import annotations

# (ja, romaji, en)
MOODS = [
    ("切ない", "Setsunai", "Wistful"),
    ("優しい", "Yasashii", "Gentle"),
    ("眩しい", "Mabushii", "Dazzling"),
    ("静かな", "Shizuka na", "Quiet"),
    ("懐かしい", "Natsukashii", "Nostalgic"),
    ("儚い", "Hakanai", "Fleeting"),
    ("熱い", "Atsui", "Burning"),
    ("寂しい", "Sabishii", "Lonely"),
    ("明るい", "Akarui", "Bright"),
    ("温かい", "Atatakai", "Warm"),
]
SCENES = [
    ("夜明け", "Yoake", "Daybreak"),
    ("雨", "Ame", "Rain"),
    ("海辺", "Umibe", "Seaside"),
    ("街角", "Machikado", "Street Corner"),
    ("星空", "Hoshizora", "Starry Sky"),
    ("夕焼け", "Yuuyake", "Sunset"),
    ("駅", "Eki", "Station"),
    ("花火", "Hanabi", "Fireworks"),
    ("坂道", "Sakamichi", "Hillside Road"),
    ("真夜中", "Mayonaka", "Midnight"),
    ("月", "Tsuki", "Moon"),
    ("風", "Kaze", "Wind"),
    ("雪", "Yuki", "Snow"),
    ("桜", "Sakura", "Cherry Blossoms"),
]
SEASONS = [
    ("春", "Haru", "Spring"),
    ("夏", "Natsu", "Summer"),
    ("秋", "Aki", "Autumn"),
    ("冬", "Fuyu", "Winter"),
    ("初夏", "Shoka", "Early Summer"),
    ("真冬", "Mafuyu", "Midwinter"),
]
NOUNS = [
    ("約束", "Yakusoku", "Promise"),
    ("手紙", "Tegami", "Letter"),
    ("記憶", "Kioku", "Memory"),
    ("歌", "Uta", "Song"),
    ("帰り道", "Kaerimichi", "Way Home"),
    ("奇跡", "Kiseki", "Miracle"),
    ("夢", "Yume", "Dream"),
    ("光", "Hikari", "Light"),
    ("ひとり", "Hitori", "Alone"),
    ("鼓動", "Kodou", "Heartbeat"),
]
# Title shapes: {mood}, {scene}, {season}, {noun} are filled from the lists above in the same script.
TITLE_SHAPES_JA = ["{scene}の{noun}", "{mood}{scene}", "{season}の{scene}", "{mood}{noun}", "{scene}と{noun}"]
TITLE_SHAPES_LATN = [
    "{scene} no {noun}",
    "{mood} {scene}",
    "{season} no {scene}",
    "{mood} {noun}",
    "{scene} to {noun}",
]
TITLE_SHAPES_EN = [
    "{noun} of the {scene}",
    "{mood} {scene}",
    "{season} {scene}",
    "{mood} {noun}",
    "{scene} and {noun}",
]

# (ja family name, ja given name, romaji family, romaji given)
FAMILY_NAMES = [
    ("星野", "Hoshino"),
    ("朝倉", "Asakura"),
    ("森田", "Morita"),
    ("岸本", "Kishimoto"),
    ("月野", "Tsukino"),
    ("青木", "Aoki"),
    ("高瀬", "Takase"),
    ("水野", "Mizuno"),
    ("白石", "Shiraishi"),
    ("早川", "Hayakawa"),
    ("藤原", "Fujiwara"),
    ("小泉", "Koizumi"),
]
GIVEN_NAMES = [
    ("ミナ", "Mina"),
    ("葵", "Aoi"),
    ("ハルキ", "Haruki"),
    ("詩織", "Shiori"),
    ("レイ", "Rei"),
    ("蓮", "Ren"),
    ("結衣", "Yui"),
    ("湊", "Minato"),
    ("陽菜", "Hina"),
    ("悠真", "Yuma"),
    ("千尋", "Chihiro"),
    ("奏", "Kanade"),
]
BAND_WORDS = [
    ("ブルー", "Blue"),
    ("ノート", "Notes"),
    ("ムーン", "Moon"),
    ("シティ", "City"),
    ("ウェーブ", "Wave"),
]

MUSIC_GENRES = [
    "J-Pop",
    "City Pop",
    "Rock",
    "Anime",
    "Jazz",
    "Electronic",
    "Folk",
    "Ballad",
    "Hip-Hop",
    "Classical",
]
VIDEO_GENRES = [
    "Drama",
    "Comedy",
    "Romance",
    "Mystery",
    "Family",
    "Documentary",
    "Food",
    "Thriller",
    "Animation",
]
VIDEO_RATINGS = ["G", "PG", "PG-12", "TV-PG", "TV-14"]

# What a synopsis is made of (English; a Japanese summary is not an ADI 1.1 field)
SYNOPSIS_OPENINGS = [
    "On a {mood} {season} night,",
    "In a small town by the {scene},",
    "Every evening after the last train,",
    "When the {scene} returns each {season},",
]
SYNOPSIS_PEOPLE = [
    "a retired detective",
    "a young cook",
    "two estranged sisters",
    "a night-shift nurse",
    "a lonely lighthouse keeper",
    "a high-school band",
]
SYNOPSIS_PLOTS = [
    "finds a letter that was never sent",
    "must keep a promise made twenty years ago",
    "solves a small mystery that nobody else noticed",
    "learns to play again after losing everything",
    "opens a tiny restaurant under the railway bridge",
    "searches for the owner of a forgotten umbrella",
]
SYNOPSIS_ENDINGS = [
    "A {mood} story about {noun}.",
    "Warm, funny and quietly {mood}.",
    "A tale of {noun} told over one {season}.",
]
