"""How citizens find polls, as plain values: distances, the radius of "near me", and the
"Recommended" badge from the tags and areas of the polls a citizen voted in."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rooms.areas import Area
from rooms.errors import N_, bad_request

#: The Earth's radius Valkey's GEO commands use (metres), so distances here agree with it.
EARTH_RADIUS_M = 6372797.560856
SHORTEST_RADIUS_KM = 0.1
LONGEST_RADIUS_KM = 50.0
#: How many polls carry the "Hot" badge, and the "Recommended" one.
HOT_COUNT = 3
RECOMMENDED_COUNT = 3
#: An area a citizen voted in weighs as much as this many shared tags.
AREA_WEIGHT = 1.0


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two points, in km (the haversine formula)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dlat, dlon = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dlat / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a))) / 1000


def check_radius(value: object) -> float:
    """A "near me" radius in km, from 0.1 to 50; ``bad_request`` otherwise."""
    try:
        radius = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        radius = math.nan
    if not SHORTEST_RADIUS_KM <= radius <= LONGEST_RADIUS_KM:
        raise bad_request(
            N_("the radius is {low} to {high} km"), low=SHORTEST_RADIUS_KM, high=LONGEST_RADIUS_KM
        )
    return radius


def check_position(lat: object, lon: object) -> tuple[float, float]:
    try:
        la, lo = float(lat), float(lon)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        la = lo = math.nan
    if not (-85.05 <= la <= 85.05 and -180 <= lo <= 180):
        raise bad_request(N_("a position is a latitude within ±85 and a longitude within ±180"))
    return la, lo


@dataclass(frozen=True)
class Interests:
    """What a citizen's ballots say they care about: tags and areas, with how often."""

    tags: Mapping[str, int]
    areas: Mapping[Area, int]

    @classmethod
    def of(cls, voted: Iterable[tuple[Sequence[str], Area]]) -> Interests:
        tags: Counter[str] = Counter()
        areas: Counter[Area] = Counter()
        for poll_tags, area in voted:
            tags.update(set(poll_tags))
            areas[area] += 1
        return cls(tags, areas)

    def score(self, tags: Sequence[str], area: Area) -> float:
        return sum(self.tags.get(t, 0) for t in set(tags)) + AREA_WEIGHT * self.areas.get(area, 0)


def recommended(
    interests: Interests,
    candidates: Sequence[tuple[str, Sequence[str], Area]],
    count: int = RECOMMENDED_COUNT,
) -> list[str]:
    """The ids of the candidates (polls not voted in yet) that best match the interests,
    best first, ties in the candidates' order; none that matches nothing."""
    scored = [
        (interests.score(tags, area), i, pid) for i, (pid, tags, area) in enumerate(candidates)
    ]
    ranked = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1]))
    return [pid for _, _, pid in ranked[:count]]
