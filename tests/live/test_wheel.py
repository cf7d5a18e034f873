"""The wheel runs on its own: built from the checkout, installed into a fresh virtual
environment outside it, ``mvoting serve`` started from another directory serves every
page, static file, translation and migration from the installed copy."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.live.test_cli import ROOT, Serve, cli_env, free_port, kill_leftovers

pytestmark = pytest.mark.timeout(300)

#: Files the wheel must carry, by where they are in the checkout -> where in the wheel.
ASSETS = {"templates": "live/web/templates", "static": "live/web/static"}


def tracked(folder: str) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", folder], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return out or [str(p.relative_to(ROOT)) for p in (ROOT / folder).rglob("*") if p.is_file()]


def run(
    *cmd: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 240
) -> str:
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{cmd}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@dataclass
class Installed:
    wheel: Path
    venv: Path
    elsewhere: Path  # a working directory outside the checkout

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self) -> dict[str, str]:
        env = cli_env()
        env.pop("PYTHONPATH", None)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    dist, venv, elsewhere = base / "dist", base / "venv", base / "elsewhere"
    elsewhere.mkdir()
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, ROOT, cwd=base)
    (wheel,) = dist.glob("mvoting-*.whl")
    run(sys.executable, "-m", "venv", venv, cwd=base)
    run(venv / "bin" / "pip", "install", "-q", wheel, cwd=elsewhere)
    # As the README says: the job queue apart, without its declared dependencies.
    run(venv / "bin" / "pip", "install", "-q", "--no-deps", "arq==0.28.0", cwd=elsewhere)
    return Installed(wheel, venv, elsewhere)


def test_the_wheel_carries_pages_scripts_migrations_and_catalogs(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for folder, inside in ASSETS.items():
        files = tracked(folder)
        assert files, folder
        missing = [f for f in files if f"{inside}/{Path(f).relative_to(folder)}" not in names]
        assert missing == [], f"not in the wheel: {missing}"
    for package_file in (
        "lua/cast.lua",
        "engines/migrations/script.py.mako",
        "web/locales/ko/LC_MESSAGES/messages.po",
    ):
        assert f"live/{package_file}" in names
    versions = sorted(p.name for p in (ROOT / "live/engines/migrations/versions").glob("0*.py"))
    assert versions and all(f"live/engines/migrations/versions/{v}" in names for v in versions)
    assert not any(n.startswith(("tests/", "loadtests/")) for n in names)


def test_the_installed_copy_is_what_runs(installed: Installed) -> None:
    probe = "import live.web.assets as a; print(a.__file__); print(a.STATIC)"
    where = run(
        installed.bin / "python", "-c", probe, cwd=installed.elsewhere, env=installed.env()
    ).split()
    site = str(installed.venv)
    assert where[0].startswith(site) and where[1].startswith(site), where
    assert not any(w.startswith(str(ROOT)) for w in where)


@pytest.fixture(scope="module")
def serving(installed: Installed) -> Iterator[tuple[Serve, Path]]:
    data = installed.elsewhere / "data"
    port = free_port()
    out, err = installed.elsewhere / "serve.out", installed.elsewhere / "serve.err"
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(
            [installed.bin / "mvoting", "serve", "--data", "data", "--port", str(port)],
            cwd=installed.elsewhere,
            env=installed.env(),
            stdin=subprocess.DEVNULL,
            stdout=o,
            stderr=e,
        )
    serve = Serve(data, port, proc, out, err)
    try:
        serve.wait_ready()
        yield serve, data
    finally:
        if proc.poll() is None:
            serve.stop()
        kill_leftovers(data)


def test_every_static_file_is_served_as_it_is_in_the_checkout(serving: tuple[Serve, Path]) -> None:
    serve, _ = serving
    with httpx.Client(base_url=serve.url, timeout=10) as http:
        for f in tracked("static"):
            got = http.get(f"/{f}")
            assert got.status_code == 200, f
            assert got.content == (ROOT / f).read_bytes(), f


def test_pages_render_in_both_languages(serving: tuple[Serve, Path], installed: Installed) -> None:
    serve, data = serving
    room = run(
        installed.bin / "mvoting", "room", "create", "--data", data, "--title", "Wheel",
        "--question", "Lunch?", "--options", "A,B", "--open", "--json",
        cwd=installed.elsewhere, env=installed.env(),
    )  # fmt: skip
    body = json.loads(room)
    with httpx.Client(timeout=10) as http:
        english = http.get(f"{serve.url}/?lang=en")
        korean = http.get(f"{serve.url}/?lang=ko")
        vote = http.get(body["join_url"])
        present = http.get(body["presenter_url"])
    assert english.status_code == korean.status_code == 200
    assert "Join a vote" in english.text and "투표 참여" not in english.text
    assert "투표 참여" in korean.text and "Join a vote" not in korean.text
    assert vote.status_code == 200 and "Wheel" in vote.text and body["room"] in vote.text
    assert present.status_code == 200 and body["room"] in present.text
    assert body["password"] in present.text  # the projector shows how to join


def test_the_archive_is_migrated_to_head(serving: tuple[Serve, Path]) -> None:
    _, data = serving
    head = max(
        line.split('"')[1]
        for p in (ROOT / "live/engines/migrations/versions").glob("0*.py")
        for line in p.read_text().splitlines()
        if line.startswith("revision = ")
    )
    with sqlite3.connect(data / "mvoting.db") as db:
        assert db.execute("select version_num from alembic_version").fetchall() == [(head,)]
        tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
    assert {"rooms", "questions", "ballots"} <= tables
