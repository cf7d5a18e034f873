"""The prohibited words monitors keep: listed, added and removed here (each change in the
moderation log, in the same transaction), and checked with ``refuse_prohibited`` where
citizens write: polls (title, description, tags, questions, options), comments.

How a text is matched, and which innocent words are spared, is ``rooms.prohibited``. A
word written "+word" is an *allowed* word, an exception (a compound that holds a listed
word innocently, "+시발점"); it is stored under its key with "+" first.

Each process keeps the compiled list and the version it was read at; the version is a
counter in Valkey (``Keys.words_version``), raised after every change. A check reads the
counter (one round trip) and reads the list again if it moved, so every node refuses a
new word from the next check on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from live.clock import now_ms
from live.engines import db
from live.moderation import audit
from live.services import Services
from rooms.errors import N_, ErrorCode, VotingError, bad_request
from rooms.prohibited import MAX_WORD, Matcher, plain_word, stored_key

#: Words one request may add or remove.
MAX_PER_CHANGE = 100


@dataclass(frozen=True, slots=True)
class Word:
    word: str  #: as the monitor wrote it (without the "+" of an allowed word)
    key: str  #: as matched (``rooms.prohibited.stored_key``)
    added_by: str
    added_ms: int

    @property
    def allowed(self) -> bool:
        return self.key.startswith("+")

    @property
    def listed_as(self) -> str:
        """The word as it is added and removed: "+word" if allowed."""
        return "+" + self.word if self.allowed else self.word

    def as_dict(self) -> dict[str, Any]:
        return {
            "word": self.word,
            "allowed": self.allowed,
            "added_by": self.added_by,
            "added_ms": self.added_ms,
        }


async def listed(svc: Services) -> list[Word]:
    """Every listed word, prohibited ones first, each group in its key's order."""
    async with svc.engine.connect() as conn:
        rows = (await conn.execute(sa.select(db.prohibited_words))).all()
    found = [Word(r.word, r.key, r.added_by, int(r.added_ms)) for r in rows]
    return sorted(found, key=lambda w: (w.allowed, w.word.casefold(), w.key))


def _keys(words: Iterable[object]) -> dict[str, str]:
    """key -> the word as written, for words as a monitor sends them; ``bad_request``
    naming the first that cannot be listed."""
    out: dict[str, str] = {}
    for raw in words:
        if not isinstance(raw, str):
            raise bad_request(N_("{name} must be text"), name="word")
        word = " ".join(raw.split())
        try:
            key, _ = stored_key(word)
        except ValueError:
            raise bad_request(
                N_(
                    "“{word}” cannot be listed: write letters of one script (two or more "
                    "Latin letters), at most {limit} characters"
                ),
                word=word[: MAX_WORD + 1],
                limit=MAX_WORD,
            ) from None
        out.setdefault(key, word)
    if not out:
        raise bad_request(N_("{name} is required"), name="word")
    if len(out) > MAX_PER_CHANGE:
        raise bad_request(N_("at most {n} words at a time"), n=MAX_PER_CHANGE)
    return out


async def add(svc: Services, words: Sequence[object], *, by: str) -> list[str]:
    """List ``words`` (a "+word" as allowed); the ones that were not listed yet, each
    logged as ``add_word``."""
    wanted = _keys(words)
    added: list[str] = []
    async with svc.engine.begin() as conn:
        there = set(
            (
                await conn.execute(
                    sa.select(db.prohibited_words.c.key).where(
                        db.prohibited_words.c.key.in_(list(wanted))
                    )
                )
            ).scalars()
        )
        for key, word in wanted.items():
            if key in there:
                continue
            allowed = key.startswith("+")
            await conn.execute(
                db.prohibited_words.insert().values(
                    key=key, word=plain_word(word), added_by=by, added_ms=now_ms()
                )
            )
            await audit.record(
                conn, by, "add_word", "allowed_word" if allowed else "word", plain_word(word)
            )
            added.append(word)
    if added:
        await _changed(svc)
    return added


async def remove(svc: Services, words: Sequence[object], *, by: str) -> list[str]:
    """Take ``words`` off the list (a "+word" off the allowed ones); the ones that were
    listed, each logged as ``remove_word``."""
    wanted = _keys(words)
    removed: list[str] = []
    async with svc.engine.begin() as conn:
        rows = (
            await conn.execute(
                sa.select(db.prohibited_words).where(db.prohibited_words.c.key.in_(list(wanted)))
            )
        ).all()
        for r in sorted(rows, key=lambda r: list(wanted).index(r.key)):
            await conn.execute(
                db.prohibited_words.delete().where(db.prohibited_words.c.key == r.key)
            )
            allowed = r.key.startswith("+")
            await audit.record(
                conn, by, "remove_word", "allowed_word" if allowed else "word", str(r.word)
            )
            removed.append(("+" if allowed else "") + str(r.word))
    if removed:
        await _changed(svc)
    return removed


async def _changed(svc: Services) -> None:
    """After the change is committed: every node reads the list again at its next check."""
    await svc.redis.incr(svc.keys.words_version())


#: (key prefix, archive) -> (version, matcher): one compiled list per process and archive.
_cache: dict[tuple[str, str], tuple[str | None, Matcher]] = {}


async def matcher(svc: Services) -> Matcher:
    """The compiled list, read again if its version moved since this process read it."""
    version = await svc.redis.get(svc.keys.words_version())
    version = None if version is None else str(version)
    where = (svc.keys.prefix, str(svc.engine.url))
    cached = _cache.get(where)
    if cached is not None and cached[0] == version:
        return cached[1]
    compiled = Matcher(w.listed_as for w in await listed(svc))
    _cache[where] = (version, compiled)
    return compiled


async def refuse_prohibited(svc: Services, *texts: str | None) -> None:
    """``prohibited_word`` naming the first listed word one of ``texts`` holds (each text
    matched on its own); nothing if none does."""
    found = await matcher(svc)
    if not found:
        return
    for text in texts:
        if text and (word := found.find(text)) is not None:
            raise VotingError(ErrorCode.PROHIBITED_WORD, word=word)
