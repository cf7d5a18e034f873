"""What a citizen is notified of: areas of interest, and a saved place.

``interests`` ``None`` means notifications are off; a list (even empty) turns them on,
and with them the citizen's district (``citizens.district``) and saved place count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from live.engines import db
from live.services import Services
from rooms.areas import Area
from rooms.errors import N_, ErrorCode, VotingError, bad_request

#: The largest and the smallest radius of a saved place, in metres.
MAX_PLACE_RADIUS = 20_000
MIN_PLACE_RADIUS = 100
DEFAULT_PLACE_RADIUS = 1_000


@dataclass(frozen=True, slots=True)
class SavedPlace:
    lat: float
    lon: float
    radius_m: int

    def as_dict(self) -> dict[str, Any]:
        return {"lat": self.lat, "lon": self.lon, "radius_m": self.radius_m}


@dataclass(frozen=True, slots=True)
class Interests:
    areas: tuple[Area, ...] | None  #: ``None``: notifications are off
    place: SavedPlace | None = None
    district: str | None = None  #: the profile's, shown beside (changed there)

    @property
    def on(self) -> bool:
        return self.areas is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "on": self.on,
            "areas": [str(a) for a in self.areas or ()],
            "place": None if self.place is None else self.place.as_dict(),
            "district": self.district,
        }


def _number(value: object, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise bad_request(N_("{name} is a number"), name=name)
    if not low <= value <= high:
        raise bad_request(N_("{name} is between {low} and {high}"), name=name, low=low, high=high)
    return float(value)


def check_place(data: object) -> SavedPlace | None:
    if data is None:
        return None
    if not isinstance(data, dict) or set(data) - {"lat", "lon", "radius_m"}:
        raise bad_request(N_("place is an object of lat, lon and radius_m, or null"))
    lat = _number(data.get("lat"), "lat", -90, 90)
    lon = _number(data.get("lon"), "lon", -180, 180)
    radius = data.get("radius_m", DEFAULT_PLACE_RADIUS)
    if isinstance(radius, bool) or not isinstance(radius, int):
        raise bad_request(N_("radius_m is a whole number of metres"))
    if not MIN_PLACE_RADIUS <= radius <= MAX_PLACE_RADIUS:
        raise bad_request(
            N_("radius_m is between {low} and {high} metres"),
            low=MIN_PLACE_RADIUS,
            high=MAX_PLACE_RADIUS,
        )
    return SavedPlace(lat, lon, radius)


def check_areas(data: object) -> tuple[Area, ...] | None:
    if data is None:
        return None
    if not isinstance(data, list) or not all(isinstance(a, str) for a in data):
        raise bad_request(N_("areas is a list of areas of interest, or null"))
    known = {str(a) for a in Area}
    for a in data:
        if a not in known:
            allowed = ", ".join(str(x) for x in Area)
            raise bad_request(N_("{name} is one of {allowed}"), name="areas", allowed=allowed)
    chosen = {Area(a) for a in data}
    return tuple(a for a in Area if a in chosen)


def check_interests(data: dict[str, Any]) -> tuple[tuple[Area, ...] | None, SavedPlace | None]:
    """A ``PUT`` body: ``{"areas": [..] | null, "place": {lat, lon, radius_m} | null}``."""
    if set(data) - {"areas", "place"} or "areas" not in data:
        raise bad_request(N_("interests have areas (a list, or null for none) and place"))
    return check_areas(data["areas"]), check_place(data.get("place"))


async def interests_of(svc: Services, citizen_id: str) -> Interests:
    c = db.citizens.c
    async with svc.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(
                    c.interests, c.place_lat, c.place_lon, c.place_radius_m, c.district
                ).where(c.id == citizen_id)
            )
        ).first()
    if row is None:
        raise VotingError(ErrorCode.UNAUTHORIZED)
    areas = None
    if row.interests is not None:
        chosen = set(row.interests)
        areas = tuple(a for a in Area if str(a) in chosen)
    place = None
    if row.place_lat is not None and row.place_lon is not None:
        radius = int(row.place_radius_m or DEFAULT_PLACE_RADIUS)
        place = SavedPlace(float(row.place_lat), float(row.place_lon), radius)
    return Interests(areas, place, row.district)


async def set_interests(svc: Services, citizen_id: str, data: dict[str, Any]) -> Interests:
    """Replace what the citizen is notified of (``check_interests``)."""
    areas, place = check_interests(data)
    async with svc.engine.begin() as conn:
        await conn.execute(
            db.citizens.update()
            .where(db.citizens.c.id == citizen_id)
            .values(
                interests=None if areas is None else [str(a) for a in areas],
                place_lat=None if place is None else place.lat,
                place_lon=None if place is None else place.lon,
                place_radius_m=None if place is None else place.radius_m,
            )
        )
    return await interests_of(svc, citizen_id)
