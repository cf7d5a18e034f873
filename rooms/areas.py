"""The twelve areas of interest a citywide poll belongs to, and a citizen filters on.

The first ten are Seoul mVoting's own (welfare, economy, women, safety, housing,
environment, culture, transport, traffic, tax); education and health make the twelve.
Written once here; every page, filter and form reads them from ``AREAS``.
"""

from __future__ import annotations

from enum import StrEnum

from rooms.errors import N_


class Area(StrEnum):
    WELFARE = "welfare"
    ECONOMY = "economy"
    WOMEN = "women"
    SAFETY = "safety"
    HOUSING = "housing"
    ENVIRONMENT = "environment"
    CULTURE = "culture"
    TRANSPORT = "transport"
    TRAFFIC = "traffic"
    TAX = "tax"
    EDUCATION = "education"
    HEALTH = "health"


#: Each area's name as people read it (translated where it is shown).
AREAS: dict[Area, str] = {
    Area.WELFARE: N_("Welfare"),
    Area.ECONOMY: N_("Economy"),
    Area.WOMEN: N_("Women"),
    Area.SAFETY: N_("Safety"),
    Area.HOUSING: N_("Housing"),
    Area.ENVIRONMENT: N_("Environment"),
    Area.CULTURE: N_("Culture"),
    Area.TRANSPORT: N_("Transport"),
    Area.TRAFFIC: N_("Traffic"),
    Area.TAX: N_("Tax"),
    Area.EDUCATION: N_("Education"),
    Area.HEALTH: N_("Health"),
}
