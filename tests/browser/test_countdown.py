"""The presenter screen counts down a question with a duration, and shows it closed when
the server closed it at its end."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.async_api import expect

from live import store
from live.jobs import running_jobs
from live.services import Services
from rooms.questions import Action, build_question
from tests.browser.conftest import Browsing
from tests.browser.test_lecture_poll import presenter_url
from tests.conftest import Node
from tests.live.helpers import Room


async def test_the_presenter_counts_down_to_the_close(
    browsing: Browsing, node: Node, svc: Services
) -> None:
    info = await store.create_room(svc, title="Quick vote", password="pw")
    q = await store.add_question(svc, info.id, build_question("Tea?", "yesno", duration_s=4))
    room = Room(info, [q.id])
    screen = await browsing.screen()
    await screen.goto(presenter_url(node, room))
    await expect(screen.locator("#conn")).to_have_attribute("data-state", "connected")
    countdown = screen.get_by_test_id("countdown")
    await expect(countdown).to_be_hidden()
    async with running_jobs(svc):
        await store.act(svc, q.id, Action.OPEN)
        await expect(countdown).to_have_text(re.compile(r"^Closes in 0:0[1-4]$"))
        await expect(countdown).to_be_hidden(timeout=8000)
    closed = await store.load_question(svc, q.id)
    assert closed is not None and closed.closed
    await browsing.assert_accessible(screen)


async def test_a_screen_whose_clock_is_wrong_counts_down_by_the_servers(
    browsing: Browsing, node: Node, svc: Services
) -> None:
    """A hall's PC ten minutes slow still shows the time left, not ten minutes more."""
    info = await store.create_room(svc, title="Quick vote", password="pw")
    q = await store.add_question(svc, info.id, build_question("Tea?", "yesno", duration_s=30))
    room = Room(info, [q.id])
    screen = await browsing.screen()
    await screen.clock.install(time=datetime.now(UTC) - timedelta(minutes=10))
    await screen.goto(presenter_url(node, room))
    await expect(screen.locator("#conn")).to_have_attribute("data-state", "connected")
    async with running_jobs(svc):
        await store.act(svc, q.id, Action.OPEN)
        countdown = screen.get_by_test_id("countdown")
        await expect(countdown).to_have_text(re.compile(r"^Closes in 0:[0-3]\d$"))
        await store.act(svc, q.id, Action.CLOSE)
