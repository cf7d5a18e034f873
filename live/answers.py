"""Open-text answers a host hides from the word cloud, live on every screen.

Hiding takes an answer off the screens (projector, phones, console cloud): the next
snapshot leaves it out. It stays a ballot: it is counted in the total, archived, and in
the poll's log, which cannot lose an entry and still verify; the exports list it, marked
hidden. A host may show it again.
"""

from __future__ import annotations

from collections.abc import Sequence

from live import store
from live.services import Services
from rooms.errors import N_, bad_request, invalid_state
from rooms.questions import Kind
from rooms.words import MAX_HIDDEN, normalise_answer


async def hidden_answers(svc: Services, qid: str) -> list[str]:
    members: set[str] = await svc.redis.smembers(svc.keys.hidden(qid))
    return sorted(members)


async def set_hidden(
    svc: Services, q: store.LiveQuestion, answers: object, hidden: object
) -> list[str]:
    """Hide (or show again) ``answers`` of the open-text question ``q``; the hidden list.

    Answers are normalised as ballots are, so the host may write any form of one.
    """
    if q.spec.kind is not Kind.TEXT:
        raise invalid_state(N_("Only an open-text question has answers to hide."))
    words = _answers(answers)
    if not isinstance(hidden, bool):
        raise bad_request(N_("hidden is true or false"))
    key = svc.keys.hidden(q.id)
    if hidden:
        known = await svc.redis.smismember(key, words)
        added = {w for w, there in zip(words, known, strict=True) if not there}
        if added and await svc.redis.scard(key) + len(added) > MAX_HIDDEN:
            raise invalid_state(N_("A question hides at most {n} answers."), n=MAX_HIDDEN)
        if added:
            await svc.redis.sadd(key, *added)
    else:
        await svc.redis.srem(key, *words)
    await store.snapshot(svc, q.id, force=True)
    return await hidden_answers(svc, q.id)


def _answers(answers: object) -> Sequence[str]:
    if (
        not isinstance(answers, list)
        or not 1 <= len(answers) <= MAX_HIDDEN
        or not all(isinstance(a, str) and len(a) <= 200 for a in answers)
    ):
        raise bad_request(N_("answers is a list of answers"))
    words = [normalise_answer(a) for a in answers]
    if not all(words):
        raise bad_request(N_("answers is a list of answers"))
    return words
