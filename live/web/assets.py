"""Where the pages' templates and static files are: in the wheel, or in the checkout.

The repository keeps ``templates/`` and ``static/`` at its top, beside ``live/``; the wheel
carries them inside this package (``pyproject.toml``'s force-include), so an installed
``mvoting`` serves its pages from any working directory. An editable install or a plain
checkout on ``PYTHONPATH`` finds them at the top of the repository instead.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
_CHECKOUT = _HERE.parents[1]


def _find(name: str) -> Path:
    for folder in (_HERE / name, _CHECKOUT / name):
        if folder.is_dir():
            return folder
    raise RuntimeError(f"mvoting is installed without its {name}/ folder (looked in {_HERE})")


TEMPLATES = _find("templates")
STATIC = _find("static")
