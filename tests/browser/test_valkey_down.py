"""The phone while Valkey hangs: a ballot refused ``unavailable`` is kept, the page says so
and sends it again by itself until it counts, once, with no second tap."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from prometheus_client import REGISTRY

from live import cast
from live.engines import bundled
from live.services import Services, open_services
from live.settings import load_settings
from tests.browser.conftest import Browsing
from tests.browser.test_lecture_poll import presenter_url, vote_url
from tests.conftest import Node, run_node
from tests.live.helpers import live_state, make_room

RETRYING = "The service is not available right now. Your vote is kept and will be sent again"


@pytest.fixture
async def paused_valkey() -> AsyncIterator[bundled.EmbeddedValkey]:
    with tempfile.TemporaryDirectory(prefix="mvoting-down-") as d:
        server = bundled.find_or_start(Path(d))
        try:
            yield server
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(server.pid, signal.SIGCONT)
            server.stop()


@contextlib.asynccontextmanager
async def _node_on(
    server: bundled.EmbeddedValkey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Services, Node]]:
    """A node on ``server``, whose refusals while it hangs come sooner: a batch of casts or
    of the joins' limit checks times out after 1 s."""
    monkeypatch.setattr(cast, "BATCH_TIMEOUT", 1.0)
    settings = load_settings(
        {},
        MVOTING_DATA=str(tmp_path / "data"),
        REDIS_URL=server.url,
        MVOTING_SECRET="test-secret",
    )
    async with open_services(settings) as svc, run_node(settings) as node:
        yield svc, node


@pytest.mark.timeout(120)
async def test_a_ballot_refused_while_valkey_hangs_is_sent_again_by_the_page_and_counts_once(
    browser: Browser,
    paused_valkey: bundled.EmbeddedValkey,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with _node_on(paused_valkey, tmp_path, monkeypatch) as (svc, node):
        room = await make_room(svc)
        browsing = Browsing(browser)
        try:
            await _vote_while_stopped(browsing, node, vote_url(node, room), paused_valkey)
        finally:
            await browsing.close()
        assert not browsing.errors, browsing.errors
        state = await live_state(svc, room.q)
    assert state["tally"] == {"1": "1", "total": "1"}
    assert len(state["voters"]) == 1 and state["stream"] == 1


async def _vote_while_stopped(
    browsing: Browsing, node: Node, url: str, server: bundled.EmbeddedValkey
) -> None:
    phone = await browsing.phone()
    await phone.goto(url)
    await expect(phone.locator("#conn")).to_have_attribute("data-state", "connected")
    os.kill(server.pid, signal.SIGSTOP)
    try:
        await phone.get_by_role("button", name="B", exact=True).click()
        await expect(phone.get_by_text(RETRYING)).to_be_visible(timeout=10_000)
        # Tried again at least once while still stopped, and still saying so.
        refused = _refusals()
        await _more_refusals(refused)
        await expect(phone.get_by_text(RETRYING)).to_be_visible()
        await expect(phone.get_by_text("Your vote was counted.")).to_have_count(0)
    finally:
        os.kill(server.pid, signal.SIGCONT)
    await expect(phone.get_by_text("Your vote was counted.")).to_be_visible(timeout=40_000)
    await expect(phone.get_by_text(RETRYING)).to_have_count(0)


def _refusals() -> float:
    """Ballots refused ``unavailable`` so far by the node (in this process: its metrics;
    its ``/metrics`` would wait for Valkey, which reports the streams' lag)."""
    found = REGISTRY.get_sample_value("mvoting_ballots_refused_total", {"code": "unavailable"})
    return found or 0.0


async def _more_refusals(than: float, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while _refusals() <= than:
        assert time.monotonic() < deadline, "the page did not send its ballot again"
        await asyncio.sleep(0.1)


@pytest.mark.timeout(150)
@pytest.mark.parametrize("page", ["phone", "presenter"])
async def test_a_join_refused_while_valkey_hangs_is_tried_again_by_the_page(
    page: str,
    browser: Browser,
    paused_valkey: bundled.EmbeddedValkey,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A phone whose connection drops while Valkey hangs joins again when it is back:
    the join refused ``unavailable`` meanwhile is not the end of the page."""
    async with _node_on(paused_valkey, tmp_path, monkeypatch) as (svc, node):
        room = await make_room(svc)
        browsing = Browsing(browser)
        try:
            # The screen's lot-drawing panel asks for its draws at each join: while
            # Valkey hangs that is a 503 (to be tried again), never a 500.
            browsing.allow(r"status of 503 \(Service Unavailable\) \(http://[^ ]+/api/draws\?")
            phone = await (browsing.phone() if page == "phone" else browsing.screen())
            url = vote_url(node, room) if page == "phone" else presenter_url(node, room)
            await phone.goto(url)
            conn = phone.locator("#conn")
            await expect(conn).to_have_attribute("data-state", "connected")
            refused = _join_refusals()
            os.kill(paused_valkey.pid, signal.SIGSTOP)
            try:
                await phone.context.set_offline(True)
                await expect(conn).not_to_have_attribute("data-state", "connected")
                await phone.context.set_offline(False)
                # It connects again, and its join is refused while Valkey hangs.
                deadline = time.monotonic() + 20
                while _join_refusals() <= refused:
                    assert time.monotonic() < deadline, "no join was refused meanwhile"
                    await asyncio.sleep(0.1)
                await expect(conn).to_have_attribute("data-state", "connecting")
                await expect(phone.get_by_role("alert")).to_have_count(0)
            finally:
                os.kill(paused_valkey.pid, signal.SIGCONT)
            await expect(conn).to_have_attribute("data-state", "connected", timeout=40_000)
            if page == "phone":
                await phone.get_by_role("button", name="B", exact=True).click()
                await expect(phone.get_by_text("Your vote was counted.")).to_be_visible()
            else:  # joined: its ack set the state (only a join's ack does)
                await expect(phone.get_by_role("alert")).to_have_count(0)
        finally:
            await browsing.close()
        assert not browsing.errors, browsing.errors


def _join_refusals() -> float:
    found = REGISTRY.get_sample_value("mvoting_joins_refused_total", {"code": "unavailable"})
    return found or 0.0
