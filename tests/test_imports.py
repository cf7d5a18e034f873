"""Imports run one way: ``live`` → ``rooms``, and inside each the packages keep their rooms.

Every ``import`` and ``from … import`` of every module of ``live`` and ``rooms`` is read
from its syntax tree (those inside functions and ``TYPE_CHECKING`` blocks too) and checked
against the rules of docs/architecture.md ("Packages").
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def may_import(importer: str, target: str) -> bool:
    """The rules, in order: the first that names the importer decides."""
    if _within(importer, "rooms.tlog"):
        return _within(target, "rooms.tlog")  # a library of its own
    if _within(importer, "rooms"):
        return _within(target, "rooms")  # the domain needs nothing running
    if _within(importer, "live.wire"):
        return _within(target, "live.wire")  # the wire knows nothing of votes
    if _within(importer, "live.engines"):
        return _within(target, "live.engines") or _within(target, "rooms")
    if _within(target, "live.cli"):
        return _within(importer, "live.cli")  # nothing imports the command line
    if importer in ("live.app", "live.cli"):
        return True  # the top: wires everything together
    if _within(target, "live.web") or target == "live.app":
        return _within(importer, "live.web") and target != "live.app"  # the edge
    return True  # the core, ledger and web: the rest of live, and rooms


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(source: str, importer: str) -> list[str]:
    """Every name of ours that ``source`` imports (for ``from x import y``, both ``x`` and
    ``x.y``, since ``y`` may be a module)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importer's package
                package = importer.split(".")[: -node.level]
                base = ".".join([*package, base] if base else package)
            names.append(base)
            names.extend(f"{base}.{alias.name}" for alias in node.names)
    # ``from live import x``: the bare top package is only a way to reach ``live.x``
    return [n for n in names if n.split(".")[0] in {"live", "rooms"} and "." in n]


def violations(importer: str, source: str, modules: set[str]) -> list[str]:
    """``importer imports target`` for each module or package of ours it may not import."""
    return sorted(
        {
            f"{importer} imports {target}"
            for target in imported(source, importer)
            if target in modules and not may_import(importer, target)
        }
    )


def our_modules() -> dict[str, Path]:
    """Every module and package of ``live`` and ``rooms``, by dotted name."""
    return {
        module_name(p): p for top in ("live", "rooms") for p in sorted((ROOT / top).rglob("*.py"))
    }


def test_imports_run_one_way() -> None:
    modules = our_modules()
    assert {"live.app", "live.web.pages", "rooms.tlog.notes", "live.wire.transport"} <= set(modules)
    found = [
        v
        for name, path in modules.items()
        for v in violations(name, path.read_text(), set(modules))
    ]
    assert found == []


@pytest.mark.parametrize(
    ("importer", "source", "expected"),
    [
        pytest.param(
            "rooms.questions",
            "import live.store",
            ["rooms.questions imports live.store"],
            id="rooms-reaches-live",
        ),
        pytest.param(
            "rooms.tlog.notes",
            "from rooms import questions",
            ["rooms.tlog.notes imports rooms.questions"],
            id="tlog-reaches-domain",
        ),
        pytest.param(
            "live.store",
            "from live.web import pages",
            ["live.store imports live.web", "live.store imports live.web.pages"],
            id="core-reaches-web",
        ),
        pytest.param(
            "live.worker",
            "def f():\n    from live.cli import main",
            ["live.worker imports live.cli"],
            id="late-import-of-cli",
        ),
        pytest.param(
            "live.ledger.log",
            "from live.app import create_app",
            ["live.ledger.log imports live.app"],
            id="ledger-reaches-app",
        ),
        pytest.param(
            "live.wire.frames",
            "from live import store",
            ["live.wire.frames imports live.store"],
            id="wire-reaches-core",
        ),
        pytest.param(
            "live.engines.db",
            "from live.settings import Settings",
            ["live.engines.db imports live.settings"],
            id="engine-reaches-core",
        ),
        pytest.param(
            "live.web.pages",
            "from live import cli",
            ["live.web.pages imports live.cli"],
            id="web-reaches-cli",
        ),
        pytest.param(
            "live.web.pages",
            "from live import store\nfrom rooms.tlog import notes",
            [],
            id="web-may-import-core",
        ),
        pytest.param("live.app", "from live.web import api", [], id="app-may-import-web"),
        pytest.param("live.cli", "from live.app import create_app", [], id="cli-may-import-app"),
        pytest.param(
            "live.worker", "from live.ledger.log import Ledger", [], id="core-may-import-ledger"
        ),
    ],
)
def test_the_rules_catch_a_wrong_import(importer: str, source: str, expected: list[str]) -> None:
    assert violations(importer, source, set(our_modules())) == expected
