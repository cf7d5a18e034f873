"""One-time codes kept in Valkey: sent, checked and used up by one script (``lua/code.lua``).

Sending is limited per number and per client address (``live.limits``, so the limits
hold across nodes); checking counts failures per number and purpose in the script, and
per client address in ``live.limits``: one address guessing at many numbers is stopped
too. What is stored is a keyed digest of the code, under the number's reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from redis.exceptions import NoScriptError

from live import limits
from live.citizens.sms import Sender
from live.services import Services
from rooms.citizens.codes import Purpose, code_digest, new_code
from rooms.errors import N_, ErrorCode, VotingError

#: The message a code goes out in ({code}, {minutes}); translated where it is sent.
MESSAGE = N_("[mVoting] Your code is {code}. It is valid for {minutes} minutes.")


@dataclass(frozen=True)
class Sent:
    expires_in: int  #: seconds the code is valid


def _send_subjects(svc: Services, ref: str, address: str | None) -> list[limits.Subject]:
    s, k = svc.settings, svc.keys
    return [
        limits.Subject(k.limit("codes", f"num:{ref}"), limits.quota(s.code_sends_per_number, 3600)),
        limits.Subject(
            k.limit("codes", f"addr:{limits.client_address(address)}"),
            limits.quota(s.code_sends_per_address, 3600),
        ),
    ]


def _check_subject(svc: Services, address: str | None) -> limits.Subject:
    s = svc.settings
    return limits.Subject(
        svc.keys.limit("codecheck", f"addr:{limits.client_address(address)}"),
        limits.quota(s.code_sends_per_address, 3600),
    )


async def _script(svc: Services, ref: str, purpose: str, *args: object) -> tuple[str, int]:
    keys = svc.keys.code(ref, purpose)
    script = svc.scripts.code
    try:
        status, n = await script(keys=keys, args=list(args))
    except NoScriptError:  # pragma: no cover - redis-py's Script reloads on its own
        status, n = await script(keys=keys, args=list(args))
    return str(status), int(n)


def _holder(purpose: Purpose, holder: str) -> str:
    """The purpose as the keys and the digest name it: a change of number is bound to the
    account that asked for it."""
    return f"{purpose}:{holder}" if holder else str(purpose)


async def send(
    svc: Services,
    sender: Sender,
    purpose: Purpose,
    e164: str,
    ref: str,
    *,
    address: str | None,
    translate: Callable[[str], str],
    holder: str = "",
    deliver: bool = True,
) -> Sent:
    """Issue a new code for the number and send it (not if ``deliver`` is false: a reset
    for a number with no account costs and answers the same, and sends nothing)."""
    await limits.count(svc.redis, _send_subjects(svc, ref, address))
    code = new_code()
    s = svc.settings
    bound = _holder(purpose, holder)
    digest = code_digest(svc.secret, bound, ref, code)
    status, n = await _script(
        svc, ref, bound, "issue", digest, s.code_failures, s.code_lifetime * 1000
    )
    if status == "locked":
        raise limits.rate_limited(n / 1000)
    if deliver:
        minutes = max(1, s.code_lifetime // 60)
        text = translate(MESSAGE).format(code=code, minutes=minutes)
        await sender.send(e164, text, ref=ref)
    return Sent(s.code_lifetime)


async def use(
    svc: Services,
    purpose: Purpose,
    ref: str,
    code: str,
    *,
    address: str | None,
    holder: str = "",
) -> None:
    """Check ``code`` for the number and use it up; else ``wrong_code``, ``code_expired``
    or ``rate_limited`` (the number, or the client address, is locked)."""
    subject = _check_subject(svc, address)
    await limits.check(svc.redis, [subject])
    s = svc.settings
    bound = _holder(purpose, holder)
    digest = code_digest(svc.secret, bound, ref, code)
    status, n = await _script(
        svc, ref, bound, "check", digest, s.code_failures, s.code_lockout * 1000
    )
    if status == "ok":
        return
    if status == "locked":
        raise limits.rate_limited(n / 1000)
    if status == "none":
        raise VotingError(ErrorCode.CODE_EXPIRED)
    verdict = await limits.attempt(svc.redis, [subject], failed=True)
    if verdict.refused:
        raise verdict.error()
    if n <= 0:
        # The last allowed failure: the code is void and the number locked out.
        raise limits.rate_limited(s.code_lockout)
    raise VotingError(ErrorCode.WRONG_CODE, attempts_left=n)
