"""The README documents every setting, with its real default."""

from __future__ import annotations

import re
from pathlib import Path

from live.settings import SETTINGS

README = (Path(__file__).parents[2] / "README.md").read_text()


def test_every_setting_is_in_the_readme_with_its_default() -> None:
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| ([^|]+) \|", README, re.MULTILINE))
    assert set(rows) == {s.name for s in SETTINGS}
    for s in SETTINGS:
        expected = f"`{s.default}`" if s.default else "(empty)"
        assert rows[s.name].strip() == expected, s.name
