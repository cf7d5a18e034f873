"""Hostile values for the fuzz tests (``tests/live/test_fuzz.py``), the state they must
leave as it was, and a runner of hypothesis examples against a running node.

The state is every Valkey key under the test's prefix with its value (``DUMP``) and every
row of every archive table, but for the keys that change without any request's doing or
by design on a refusal (``VOLATILE``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import websockets
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from live.audience import INTERVAL
from live.engines import db
from live.services import Services

#: Keys left out of the state, each for its reason:
#: - ``{lim:…}``: the counters of ``live.limits``; a refused join or sign-in counts against
#:   its address on purpose (``live.joins``), that is the guard against guessing;
#: - ``health:…``: each node's and worker's heartbeat, rewritten every few seconds;
#: - ``…:tick``, ``…:audience_tick``: the locks that space two tally or audience
#:   announcements, set by the broadcaster and expiring by themselves.
VOLATILE = re.compile(r"^\{lim:[^}]*\}:|^health:|:(audience_)?tick$")
#: A room's audience hash: each node's count holds its expiry, refreshed every 20 s, and
#: the announcements' version; only the counts are compared.
AUDIENCE = re.compile(r":audience$")


def json_type(value: object) -> str:
    """The JSON type a decoded value has (``bool`` is not an ``int`` here)."""
    if value is None:
        return "null"
    if isinstance(value, Deep):
        return "list"
    if isinstance(value, bool):
        return "bool"
    for name, kind in (("int", int), ("float", float), ("str", str), ("list", list)):
        if isinstance(value, kind):
            return name
    return "dict"


# --- values ---------------------------------------------------------------------------------

#: Text that has broken parsers elsewhere: controls, bidi overrides, zero widths, combining
#: marks, non-characters, digits other than ASCII ones (fullwidth, Arabic-Indic,
#: Devanagari: ``\d`` takes them), homoglyphs, a BOM, astral characters, NFKC expansions.
ODD_PIECES = [
    "\x00",
    "\x1b[31m",
    "\r\n",
    "\u202e",
    "\u2066",
    "\u200b",
    "\u200d",
    "\ufeff",
    "e\u0301\u0301\u0301",
    "\ufffe",
    "\uffff",
    "\U0010ffff",
    "\U0001f469\u200d\U0001f4bb",
    "４８２９１３",
    "٤٨٢٩١٣",
    "४८२९१३",
    "\u0430dmin",
    "ﬃ",
    "\u2028",
    "%00",
    "../",
    "<script>",
    "'; --",
    "${{7*7}}",
]
odd_text = st.lists(st.sampled_from(ODD_PIECES) | st.text(max_size=8), min_size=1, max_size=6).map(
    "".join
)
#: Strings past every field's bound (500 characters and less), not past a body's.
huge_text = st.sampled_from([1_000, 10_000, 60_000]).flatmap(
    lambda n: st.sampled_from(["x", "가", "\U0001f5f3", "0"]).map(lambda c: c * n)
)
texts = st.text(max_size=40) | odd_text | huge_text
huge_ints = st.sampled_from([2**31, 2**53 + 1, 2**63, 2**64, 10**30, -(2**63) - 1, -(10**30)])
ints = st.integers(min_value=-(2**70), max_value=2**70) | huge_ints
floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([-0.0, 5e-324, 1e308])
scalars = st.none() | st.booleans() | ints | floats | texts
keys = st.text(max_size=12) | odd_text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=25,
)


def of_types(*accepted: str) -> st.SearchStrategy[Any]:
    """Hostile JSON values of any type but the ``accepted`` ones."""
    return json_values.filter(lambda v: json_type(v) not in accepted)


@dataclass(frozen=True)
class Deep:
    """A list of objects of lists… ``levels`` deep around a 0, as ``encode`` writes it
    (``json.dumps`` would pass Python's recursion limit first)."""

    levels: int

    def json(self) -> bytes:
        pairs = self.levels // 2
        return b'[{"a":' * pairs + b"0" + b"}]" * pairs


def encode(value: object) -> bytes:
    """``value`` as JSON the way a careless client writes it: NaN and Infinity as bare
    words, lone surrogates as ``\\ud800`` escapes, a ``Deep`` at any depth."""
    if isinstance(value, Deep):
        return value.json()
    return json.dumps(value, allow_nan=True).encode()


#: Bodies no JSON parser should take: bare words, escapes of lone surrogates, bytes that
#: are no UTF-8, numbers past a double, nesting past orjson's 1,024 levels, truncations.
broken_json = st.sampled_from(
    [
        b"NaN",
        b'{"title": NaN}',
        b'{"title": Infinity}',
        b'{"title": -Infinity}',
        b'{"title": "\\ud800"}',
        b'{"title": "\\udfff\\ud800"}',
        b'{"title": "\xff\xfe"}',
        b'{"title": "\xed\xa0\x80"}',
        b'{"title": 1e999}',
        b"[" * 1100 + b"]" * 1100,
        b'{"a":' * 1100 + b"0" + b"}" * 1100,
        b'{"title": "x"',
        b'{"title": "x",}',
        b"\x00",
        b"\xef\xbb\xbf{}",
        b"{'title': 'x'}",
    ]
)


# --- state ----------------------------------------------------------------------------------


async def state(svc: Services) -> dict[str, Any]:
    """Every Valkey key of the test's prefix with its value, and every archive row."""
    prefix = svc.keys.prefix
    names = sorted(
        [
            name
            async for name in svc.redis.scan_iter(match=f"{prefix}*", count=1000)
            if not VOLATILE.search(name[len(prefix) :])
        ]
    )
    pipe = svc.redis.pipeline(transaction=False)
    for name in names:
        if AUDIENCE.search(name):
            pipe.hgetall(name)
        else:
            pipe.dump(name)
    values = [
        {f: v.split()[0] for f, v in value.items() if f.startswith("n:")}
        if isinstance(value, dict)
        else value
        for value in await pipe.execute()
    ]
    tables: dict[str, list[str]] = {}
    async with svc.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            rows = (await conn.execute(sa.select(table))).all()
            tables[table.name] = sorted(repr(tuple(row)) for row in rows)
    return {"valkey": dict(zip(names, values, strict=True)), "archive": tables}


async def settled_state(svc: Services) -> dict[str, Any]:
    """``state`` once it holds still: what a join or a leave just did is written within an
    audience interval (``live.audience``), a tally within a broadcast interval."""
    pause = max(INTERVAL, svc.settings.tally_interval) * 2
    last = await state(svc)
    for _ in range(20):
        await asyncio.sleep(pause)
        now = await state(svc)
        if now == last:
            return now
        last = now
    raise AssertionError(f"the state keeps changing: {changes(last, now)}")


@contextlib.asynccontextmanager
async def unchanged(svc: Services, what: object) -> AsyncIterator[None]:
    """Fails if the ``state`` after the block differs from the one before (``what`` is
    named in the failure)."""
    prior = await state(svc)
    yield
    assert changes(prior, await state(svc)) == [], what


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What differs between two ``state``s, named (empty when nothing does)."""
    found = []
    for name in sorted(set(before["valkey"]) | set(after["valkey"])):
        if before["valkey"].get(name) != after["valkey"].get(name):
            found.append(f"key {name}")
    for table in sorted(after["archive"]):
        if before["archive"].get(table) != after["archive"][table]:
            found.append(f"table {table}")
    return found


# --- a socket that sends what it is given ---------------------------------------------------


class RawSocket:
    """A Socket.IO client over a bare websocket, on the default namespace.

    python-socketio's client encodes with the json module its server in this process
    chose (orjson, ``live.sockets``), which refuses what a careless client sends: here
    each event is written as ``encode`` writes it."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self._ids = itertools.count(1)

    async def call(self, event: str, *args: Any, timeout: float = 10) -> Any:
        """The ack of ``event`` sent with ``args`` (its first argument)."""
        ack = next(self._ids)
        frame = b",".join([encode(event), *(encode(a) for a in args)])
        await self.ws.send(f"42{ack}[{frame.decode()}]")
        async with asyncio.timeout(timeout):
            while True:
                msg = str(await self.ws.recv())
                if msg == "2":
                    await self.ws.send("3")  # the server's ping
                elif msg.startswith(f"43{ack}["):
                    answer = json.loads(msg[len(f"43{ack}") :])
                    return answer[0] if answer else None

    @property
    def open(self) -> bool:
        return self.ws.close_code is None


@contextlib.asynccontextmanager
async def raw_socket(url: str) -> AsyncIterator[RawSocket]:
    """A ``RawSocket`` connected to the node at ``url``: OPEN and CONNECT read."""
    address = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(address, ping_interval=None, max_size=None) as ws:
        assert str(await ws.recv()).startswith("0{")
        await ws.send("40")
        assert str(await ws.recv()).startswith("40{")
        yield RawSocket(ws)


# --- running examples -----------------------------------------------------------------------


async def explore(
    strategy: st.SearchStrategy[Any],
    check: Callable[[Any], Awaitable[None]],
    *,
    examples: int,
    pinned: Sequence[Any] = (),
    timeout: float = 30,
) -> None:
    """Run ``check`` on the ``pinned`` values, then on ``examples`` hypothesis examples of
    ``strategy``, one at a time.

    Hypothesis drives a synchronous test, so it runs in a thread of its own and hands
    each example to this loop, which keeps serving the node meanwhile. The examples are
    the same on every run (``derandomize``) and nothing is written to a database.
    """
    loop = asyncio.get_running_loop()

    def run(value: Any) -> None:
        asyncio.run_coroutine_threadsafe(check(value), loop).result(timeout)

    test = given(strategy)(run)
    for value in reversed(pinned):
        test = example(value)(test)
    configured = settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )(test)
    await asyncio.to_thread(configured)
