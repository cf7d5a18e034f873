"""The repository stands alone: a clone with nothing beside it has everything it uses."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: A path out of the checkout into a folder beside it, as a test or script would write it.
OUTSIDE = re.compile(r"\.\./shared|parents\[[3-9]\]|/work/shared")


def test_nothing_reaches_outside_the_checkout() -> None:
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "loadtests/burst.py" in files and "loadtests/peer/server.js" in files
    found = []
    for name in files:
        if name == "tests/test_standalone.py" or name.endswith((".png", ".svg", ".json")):
            continue
        if "/vendor/" in name:
            continue
        try:
            text = (ROOT / name).read_text()
        except UnicodeDecodeError:
            continue
        found += [f"{name}: {m.group(0)}" for m in OUTSIDE.finditer(text)]
    assert found == []
