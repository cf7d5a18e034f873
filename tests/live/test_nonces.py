"""Ballot nonces: fresh, never repeated, not shared with a forked child."""

from __future__ import annotations

import os
import re

from live.nonces import new_nonce


def test_nonces_are_32_hex_characters_and_never_repeat() -> None:
    made = [new_nonce() for _ in range(5_000)]  # past one page of the pool, several times
    assert all(re.fullmatch(r"[0-9a-f]{32}", n) for n in made)
    assert len(set(made)) == len(made)


def test_a_forked_child_does_not_hand_out_its_parents_nonces() -> None:
    new_nonce()  # the pool holds a page, most of it not yet handed out
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            os.write(write, "".join(new_nonce() for _ in range(8)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read()
    os.waitpid(pid, 0)
    parent = "".join(new_nonce() for _ in range(8))
    assert len(child) == len(parent) == 8 * 32
    assert child != parent
    assert not {child[i : i + 32] for i in range(0, 256, 32)} & {
        parent[i : i + 32] for i in range(0, 256, 32)
    }
