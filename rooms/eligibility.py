"""Who may vote on a question: a poll's target, a voter's facts, and the decision.

A target narrows a poll to roster groups, demographic bands, a radius around its place,
the holders of an on-site code, or officials of some departments; all of them at once
if several are set (each one narrows further). It is stored with each question as a
*rule* (``rule_of``: compact JSON the cast script reads from the question's live state)
and decided there, atomically, against the *facts* the web node knows of the voter
(``Facts``: the account's profile and number reference, the ballot's position, whether
the connection showed the on-site code). ``decide`` is the same decision in Python, for
the pages ("this poll is not for you") and for the test that the two agree.

Age bands become ranges of birth years when the poll is made (the year it opens), so the
script needs no calendar: a poll running over New Year keeps the bands of its opening.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rooms.errors import N_, ErrorCode, bad_request


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"


class District(StrEnum):
    """Seoul's 25 autonomous districts (gu), in the city's official order."""

    JONGNO = "jongno"
    JUNG = "jung"
    YONGSAN = "yongsan"
    SEONGDONG = "seongdong"
    GWANGJIN = "gwangjin"
    DONGDAEMUN = "dongdaemun"
    JUNGNANG = "jungnang"
    SEONGBUK = "seongbuk"
    GANGBUK = "gangbuk"
    DOBONG = "dobong"
    NOWON = "nowon"
    EUNPYEONG = "eunpyeong"
    SEODAEMUN = "seodaemun"
    MAPO = "mapo"
    YANGCHEON = "yangcheon"
    GANGSEO = "gangseo"
    GURO = "guro"
    GEUMCHEON = "geumcheon"
    YEONGDEUNGPO = "yeongdeungpo"
    DONGJAK = "dongjak"
    GWANAK = "gwanak"
    SEOCHO = "seocho"
    GANGNAM = "gangnam"
    SONGPA = "songpa"
    GANGDONG = "gangdong"


class Job(StrEnum):
    STUDENT = "student"
    OFFICE_WORKER = "office_worker"
    PUBLIC_SERVANT = "public_servant"
    SELF_EMPLOYED = "self_employed"
    PROFESSIONAL = "professional"
    HOMEMAKER = "homemaker"
    FARMING_FISHING = "farming_fishing"
    JOB_SEEKER = "job_seeker"
    RETIRED = "retired"
    OTHER = "other"


class AgeBand(StrEnum):
    TEENS = "10s"
    TWENTIES = "20s"
    THIRTIES = "30s"
    FORTIES = "40s"
    FIFTIES = "50s"
    SIXTIES = "60s"
    SEVENTY_PLUS = "70+"


#: Each band's ages, both ends included (an age is the year minus the birth year).
AGES: dict[AgeBand, tuple[int, int]] = {
    AgeBand.TEENS: (10, 19),
    AgeBand.TWENTIES: (20, 29),
    AgeBand.THIRTIES: (30, 39),
    AgeBand.FORTIES: (40, 49),
    AgeBand.FIFTIES: (50, 59),
    AgeBand.SIXTIES: (60, 69),
    AgeBand.SEVENTY_PLUS: (70, 150),
}

#: What the pages show for each value (translated where shown).
GENDER_NAMES: dict[Gender, str] = {Gender.FEMALE: N_("Female"), Gender.MALE: N_("Male")}
DISTRICT_NAMES: dict[District, str] = {
    District.JONGNO: N_("Jongno-gu"),
    District.JUNG: N_("Jung-gu"),
    District.YONGSAN: N_("Yongsan-gu"),
    District.SEONGDONG: N_("Seongdong-gu"),
    District.GWANGJIN: N_("Gwangjin-gu"),
    District.DONGDAEMUN: N_("Dongdaemun-gu"),
    District.JUNGNANG: N_("Jungnang-gu"),
    District.SEONGBUK: N_("Seongbuk-gu"),
    District.GANGBUK: N_("Gangbuk-gu"),
    District.DOBONG: N_("Dobong-gu"),
    District.NOWON: N_("Nowon-gu"),
    District.EUNPYEONG: N_("Eunpyeong-gu"),
    District.SEODAEMUN: N_("Seodaemun-gu"),
    District.MAPO: N_("Mapo-gu"),
    District.YANGCHEON: N_("Yangcheon-gu"),
    District.GANGSEO: N_("Gangseo-gu"),
    District.GURO: N_("Guro-gu"),
    District.GEUMCHEON: N_("Geumcheon-gu"),
    District.YEONGDEUNGPO: N_("Yeongdeungpo-gu"),
    District.DONGJAK: N_("Dongjak-gu"),
    District.GWANAK: N_("Gwanak-gu"),
    District.SEOCHO: N_("Seocho-gu"),
    District.GANGNAM: N_("Gangnam-gu"),
    District.SONGPA: N_("Songpa-gu"),
    District.GANGDONG: N_("Gangdong-gu"),
}
JOB_NAMES: dict[Job, str] = {
    Job.STUDENT: N_("Student"),
    Job.OFFICE_WORKER: N_("Office worker"),
    Job.PUBLIC_SERVANT: N_("Public servant"),
    Job.SELF_EMPLOYED: N_("Self-employed"),
    Job.PROFESSIONAL: N_("Professional"),
    Job.HOMEMAKER: N_("Homemaker"),
    Job.FARMING_FISHING: N_("Farming or fishing"),
    Job.JOB_SEEKER: N_("Looking for work"),
    Job.RETIRED: N_("Retired"),
    Job.OTHER: N_("Other"),
}
AGE_NAMES: dict[AgeBand, str] = {
    AgeBand.TEENS: N_("Teens"),
    AgeBand.TWENTIES: N_("20s"),
    AgeBand.THIRTIES: N_("30s"),
    AgeBand.FORTIES: N_("40s"),
    AgeBand.FIFTIES: N_("50s"),
    AgeBand.SIXTIES: N_("60s"),
    AgeBand.SEVENTY_PLUS: N_("70 and over"),
}

#: The widest radius a poll may take (m): the city and its surroundings.
MAX_RADIUS = 50_000
#: The narrowest (m): a phone's position indoors is rarely better.
MIN_RADIUS = 50
MAX_GROUPS = 20
MAX_DEPARTMENTS = 50
EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True, slots=True)
class Profile:
    """What a citizen may tell of themselves; each field optional."""

    birth_year: int | None = None
    gender: Gender | None = None
    district: District | None = None
    job: Job | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "birth_year": self.birth_year,
            "gender": None if self.gender is None else str(self.gender),
            "district": None if self.district is None else str(self.district),
            "job": None if self.job is None else str(self.job),
        }


def _choice(cls: Any, value: object, name: str) -> Any:
    if value is None or value == "":
        return None
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise bad_request(N_("{name} is one of {allowed}"), name=name, allowed=allowed) from None


def check_profile(data: object, *, year: int) -> Profile:
    """A citizen's profile from a form (``bad_request`` for a wrong value; a field left
    out or empty is not told)."""
    if not isinstance(data, Mapping):
        raise bad_request(N_("a profile is an object"))
    unknown = set(data) - {"birth_year", "gender", "district", "job"}
    if unknown:
        raise bad_request(N_("a profile has birth_year, gender, district and job"))
    born = data.get("birth_year")
    if born == "" or born is None:
        born = None
    elif isinstance(born, str) and born.isascii() and born.isdigit():
        born = int(born)
    if born is not None and (
        not isinstance(born, int) or isinstance(born, bool) or not year - 120 <= born <= year
    ):
        raise bad_request(
            N_("birth_year is a year between {low} and {high}"), low=year - 120, high=year
        )
    return Profile(
        birth_year=born,
        gender=_choice(Gender, data.get("gender"), "gender"),
        district=_choice(District, data.get("district"), "district"),
        job=_choice(Job, data.get("job"), "job"),
    )


@dataclass(frozen=True, slots=True)
class Target:
    """Who may vote on a poll; empty: every signed-in citizen."""

    groups: tuple[str, ...] = ()  #: roster groups' ids
    ages: tuple[AgeBand, ...] = ()
    genders: tuple[Gender, ...] = ()
    districts: tuple[District, ...] = ()
    jobs: tuple[Job, ...] = ()
    radius_m: int = 0  #: around the poll's place; 0: anywhere
    site: bool = False  #: only those who showed the rotating on-site code
    departments: tuple[str, ...] = ()  #: officials of these departments (internal votes)

    @property
    def open_to_all(self) -> bool:
        return self == Target()

    @property
    def officials(self) -> bool:
        """An internal vote: its voters are officials, signed in as such."""
        return bool(self.departments)

    def as_dict(self) -> dict[str, Any]:
        return {
            "groups": list(self.groups),
            "ages": [str(a) for a in self.ages],
            "genders": [str(g) for g in self.genders],
            "districts": [str(d) for d in self.districts],
            "jobs": [str(j) for j in self.jobs],
            "radius_m": self.radius_m,
            "site": self.site,
            "departments": list(self.departments),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Target:
        if not d:
            return cls()
        return cls(
            groups=tuple(d.get("groups", ())),
            ages=tuple(AgeBand(a) for a in d.get("ages", ())),
            genders=tuple(Gender(g) for g in d.get("genders", ())),
            districts=tuple(District(x) for x in d.get("districts", ())),
            jobs=tuple(Job(j) for j in d.get("jobs", ())),
            radius_m=int(d.get("radius_m", 0)),
            site=bool(d.get("site", False)),
            departments=tuple(d.get("departments", ())),
        )


def _list(value: object, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request(N_("{name} is a list"), name=name)
    return value


def _members(cls: Any, value: object, name: str) -> tuple[Any, ...]:
    out: list[Any] = []
    for item in _list(value, name):
        member = _choice(cls, item, name)
        if member is not None and member not in out:
            out.append(member)
    return tuple(sorted(out, key=list(cls).index))


def _ids(value: object, name: str, limit: int) -> tuple[str, ...]:
    items = _list(value, name)
    if not all(isinstance(i, str) and 0 < len(i) <= 64 and i.isascii() for i in items):
        raise bad_request(N_("{name} is a list of ids"), name=name)
    out = tuple(dict.fromkeys(items))
    if len(out) > limit:
        raise bad_request(N_("{name} has at most {limit} items"), name=name, limit=limit)
    return out


def check_target(data: object, *, has_place: bool) -> Target:
    """A poll's target from its author's request (``bad_request`` for anything wrong);
    a radius needs the poll's place, and departments (an internal vote, for officials)
    go with no roster list or profile band (a citizen's)."""
    if data is None:
        return Target()
    if not isinstance(data, Mapping):
        raise bad_request(N_("target is an object"))
    known = {"groups", "ages", "genders", "districts", "jobs", "radius_m", "site", "departments"}
    if set(data) - known:
        allowed = ", ".join(sorted(known))
        raise bad_request(N_("target has only {allowed}"), allowed=allowed)
    radius = data.get("radius_m", 0)
    if radius in (None, ""):
        radius = 0
    if not isinstance(radius, int) or isinstance(radius, bool) or radius < 0:
        raise bad_request(N_("radius_m is a whole number of metres"))
    if radius and not MIN_RADIUS <= radius <= MAX_RADIUS:
        raise bad_request(
            N_("radius_m is between {low} and {high} metres"), low=MIN_RADIUS, high=MAX_RADIUS
        )
    if radius and not has_place:
        raise bad_request(N_("a radius needs the poll's place"))
    site = data.get("site", False)
    if not isinstance(site, bool):
        raise bad_request(N_("site is true or false"))
    target = Target(
        groups=_ids(data.get("groups"), "groups", MAX_GROUPS),
        ages=_members(AgeBand, data.get("ages"), "ages"),
        genders=_members(Gender, data.get("genders"), "genders"),
        districts=_members(District, data.get("districts"), "districts"),
        jobs=_members(Job, data.get("jobs"), "jobs"),
        radius_m=radius,
        site=site,
        departments=_ids(data.get("departments"), "departments", MAX_DEPARTMENTS),
    )
    # An internal vote's voters are officials, known by their department alone: a roster
    # list or a profile is a citizen's, so no official could meet both.
    citizens_only = target.groups or target.ages or target.genders or target.districts
    if target.departments and (citizens_only or target.jobs):
        raise bad_request(
            N_(
                "departments make an internal vote, for officials: it cannot also take "
                "roster lists, ages, genders, districts or occupations, which are citizens'"
            )
        )
    return target


def birth_years(band: AgeBand, year: int) -> tuple[int, int]:
    """The birth years of a band's ages in ``year``, oldest first."""
    low, high = AGES[band]
    return (year - high, year - low)


def rule_of(target: Target, *, place: tuple[float, float] | None, year: int) -> dict[str, Any]:
    """The target as the cast script reads it (``live/lua/cast.lua``): short keys, each
    present only when it narrows; ``{}`` for a target open to all. A site-only rule is
    also what a meeting room that asks for its on-site code stores with its questions."""
    rule: dict[str, Any] = {}
    if target.groups:
        rule["r"] = 1
    if target.ages:
        rule["y"] = [list(birth_years(a, year)) for a in target.ages]
    if target.genders:
        rule["g"] = [str(g) for g in target.genders]
    if target.districts:
        rule["d"] = [str(d) for d in target.districts]
    if target.jobs:
        rule["j"] = [str(j) for j in target.jobs]
    if target.radius_m and place is not None:
        rule["c"] = [place[0], place[1], target.radius_m]
    if target.site:
        rule["s"] = 1
    if target.departments:
        rule["o"] = list(target.departments)
    return rule


#: The rule's letters that ask about the voter's account (its number's reference, for a
#: roster; its profile; its department); the others ask what the join or the ballot tells
#: (the on-site code, the position).
ACCOUNT_LETTERS = frozenset("rygdjo")


def needs_account(rule: Mapping[str, Any]) -> bool:
    """Whether deciding ``rule`` needs the voter's account facts: a join of a poll whose
    rule does not reads none of them."""
    return not ACCOUNT_LETTERS.isdisjoint(rule)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the web node knows of a voter when a ballot is cast."""

    phone: str = ""  #: the account's number reference (a citizen)
    profile: Profile = Profile()
    department: str = ""  #: the official's department (an internal vote)
    on_site: bool = False  #: the connection showed the room's on-site code
    position: tuple[float, float] | None = None  #: sent with the ballot

    def as_arg(self) -> dict[str, Any]:
        """The facts as the cast script reads them (only those known)."""
        out: dict[str, Any] = {}
        if self.phone:
            out["p"] = self.phone
        p = self.profile
        if p.birth_year is not None:
            out["y"] = p.birth_year
        if p.gender is not None:
            out["g"] = str(p.gender)
        if p.district is not None:
            out["d"] = str(p.district)
        if p.job is not None:
            out["j"] = str(p.job)
        if self.department:
            out["o"] = self.department
        if self.on_site:
            out["s"] = 1
        if self.position is not None:
            out["lat"], out["lon"] = self.position
        return out

    @classmethod
    def of_account(cls, arg: Mapping[str, Any]) -> Facts:
        """The account's facts (number, profile, department) back from ``as_arg``."""
        return cls(
            phone=str(arg.get("p", "")),
            profile=Profile(
                birth_year=None if arg.get("y") is None else int(arg["y"]),
                gender=None if arg.get("g") is None else Gender(arg["g"]),
                district=None if arg.get("d") is None else District(arg["d"]),
                job=None if arg.get("j") is None else Job(arg["j"]),
            ),
            department=str(arg.get("o", "")),
        )


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The great-circle distance (haversine) in metres, as the cast script computes it."""
    lat1, lat2 = math.radians(a[0]), math.radians(b[0])
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin(math.radians(b[1] - a[1]) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


def decide(
    rule: Mapping[str, Any], facts: Mapping[str, Any], *, on_roster: bool = False
) -> ErrorCode | None:
    """The cast script's decision on ``facts`` (``Facts.as_arg``) under ``rule``
    (``rule_of``): ``None`` to accept, else the refusal, in the script's order.
    ``on_roster``: whether ``facts["p"]`` is in the question's roster set."""
    if "o" in rule and facts.get("o") not in rule["o"]:
        return ErrorCode.NOT_ELIGIBLE
    if rule.get("r") == 1 and not (facts.get("p") and on_roster):
        return ErrorCode.NOT_ELIGIBLE
    for key in ("y", "g", "d", "j"):
        if key not in rule:
            continue
        value = facts.get(key)
        if value is None:
            return ErrorCode.PROFILE_INCOMPLETE
        if key == "y":
            if not any(low <= value <= high for low, high in rule["y"]):
                return ErrorCode.NOT_ELIGIBLE
        elif value not in rule[key]:
            return ErrorCode.NOT_ELIGIBLE
    if "c" in rule:
        if "lat" not in facts or "lon" not in facts:
            return ErrorCode.POSITION_NEEDED
        lat, lon, radius = rule["c"]
        if distance_m((lat, lon), (facts["lat"], facts["lon"])) > radius:
            return ErrorCode.OUT_OF_AREA
    if rule.get("s") == 1 and facts.get("s") != 1:
        return ErrorCode.SITE_CODE_NEEDED
    return None
