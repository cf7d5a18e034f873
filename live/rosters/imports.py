"""A roster's file imported in the background: stored as it came, checked by a job into a
preview, and, once the host confirms, saved into groups by another job.

The web request only stores the upload (``start``): encrypted under a key derived from
the app's secret, in Valkey, for at most ``UPLOAD_TTL_S``, because the file holds the
numbers in clear and nothing else may. The ``roster_parse`` job reads it, checks its rows
(``rooms.rosters``) a chunk at a time (the event loop breathes between chunks and the
progress is written after each), keeps only each taken row's reference, name and group,
and drops the file. ``roster_save`` adds the rows to their groups, a batch at a time,
and their polls' roster sets follow (``live.rosters.store``).

The upload's hash (``keys.roster_upload``) is what the page polls::

    queued -> parsing -> ready -> saving -> done
                      \\-> failed (the file refused: its code and fields)
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import os
from enum import StrEnum
from typing import Any

import orjson
from arq.worker import func
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from live.clock import new_id, now_ms
from live.rosters import files, store
from live.schedule import job_queue
from live.services import Services
from rooms.citizens import phones
from rooms.errors import N_, ErrorCode, VotingError, bad_request, invalid_state, not_found
from rooms.rosters import RosterCheck, check_group_name, column_letter

log = logging.getLogger("mvoting.rosters")

#: How long an upload, its preview and its checked rows wait for the host.
UPLOAD_TTL_S = 3600
#: Rows checked between two looks at the event loop (and two progress writes).
CHUNK = 500
#: Rows a preview lists: the first taken ones, and the refused ones.
SAMPLE = 100
LISTED = 1_000
#: A job's longest run (a file at the row bound takes some seconds).
JOB_TIMEOUT_S = 600


class State(StrEnum):
    QUEUED = "queued"  #: stored; the job has not begun
    PARSING = "parsing"  #: the job reads the rows (``done`` of about ``total``)
    READY = "ready"  #: the preview waits for the host to confirm
    SAVING = "saving"  #: rows go into their groups (``done`` of ``total``)
    DONE = "done"  #: saved (``result``)
    FAILED = "failed"  #: the file was refused (``error``), nothing saved


def _key(svc: Services) -> bytes:
    return hmac.new(svc.secret, b"mvoting-roster-upload/v1", hashlib.sha256).digest()


def _seal(svc: Services, upload_id: str, data: bytes) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(svc)).encrypt(nonce, data, upload_id.encode())
    return base64.b64encode(nonce + sealed).decode()


def _unseal(svc: Services, upload_id: str, text: str) -> bytes:
    raw = base64.b64decode(text)
    return AESGCM(_key(svc)).decrypt(raw[:12], raw[12:], upload_id.encode())


async def start(svc: Services, host_id: str, filename: str, data: bytes) -> str:
    """Store the host's upload and queue its check; the upload's id. The file is refused
    here if its name and first bytes disagree, or it is empty."""
    kind = files.kind_of(filename, data)
    upload_id = new_id(16)
    keys = svc.keys
    meta = {"host": host_id, "kind": str(kind), "state": str(State.QUEUED), "done": 0}
    async with svc.redis.pipeline(transaction=False) as pipe:
        pipe.hset(keys.roster_upload(upload_id), mapping={**meta, "created": now_ms()})
        pipe.expire(keys.roster_upload(upload_id), UPLOAD_TTL_S)
        pipe.set(keys.roster_upload_file(upload_id), _seal(svc, upload_id, data), ex=UPLOAD_TTL_S)
        await pipe.execute()
    await _enqueue(svc, "roster_parse", upload_id)
    return upload_id


async def _enqueue(svc: Services, job: str, upload_id: str) -> None:
    async with job_queue(svc) as client:
        await client.enqueue_job(job, upload_id, _job_id=f"{svc.keys.prefix}{job}:{upload_id}")


async def upload_for(svc: Services, upload_id: str, host_id: str) -> dict[str, Any]:
    """The upload's state, progress, preview or result, error; ``not_found`` for
    another host's (or an expired one)."""
    meta: dict[str, str] = await svc.redis.hgetall(svc.keys.roster_upload(upload_id))
    if not meta or meta.get("host") != host_id:
        raise not_found(N_("upload {id}"), upload_id)
    body: dict[str, Any] = {
        "id": upload_id,
        "state": meta["state"],
        "done": int(meta.get("done", 0)),
        "total": int(meta["total"]) if meta.get("total") else None,
    }
    for name in ("preview", "result", "error"):
        if name in meta:
            body[name] = orjson.loads(meta[name])
    return body


def error_of(stored: dict[str, Any]) -> VotingError:
    """The refusal an upload's ``error`` keeps (its code and fields)."""
    return VotingError(ErrorCode(stored["code"]), **stored.get("fields", {}))


async def _set(svc: Services, upload_id: str, **fields: Any) -> None:
    values = {
        k: v if isinstance(v, str | int) else orjson.dumps(v).decode() for k, v in fields.items()
    }
    await svc.redis.hset(svc.keys.roster_upload(upload_id), mapping=values)


async def _parse(ctx: dict[str, Any], upload_id: str) -> str:
    """Check an upload's rows into a preview (the job ``roster_parse``)."""
    svc: Services = ctx["svc"]
    keys = svc.keys
    meta = await svc.redis.hgetall(keys.roster_upload(upload_id))
    if meta.get("state") != State.QUEUED:
        return "gone"  # expired, or run once already
    await _set(svc, upload_id, state=str(State.PARSING))
    sealed = await svc.redis.get(keys.roster_upload_file(upload_id))
    try:
        if sealed is None:
            raise VotingError(ErrorCode.EMPTY_FILE)
        sheet = files.open_sheet(files.Kind(meta["kind"]), _unseal(svc, upload_id, sealed))
        del sealed
        with sheet.closing:
            check = RosterCheck()
            if sheet.estimate:
                await _set(svc, upload_id, total=sheet.estimate)
            while not files.feed(sheet, check, CHUNK):
                await _set(svc, upload_id, done=check.line)
                await asyncio.sleep(0)
            checked = check.finish()
    except VotingError as err:
        await _set(svc, upload_id, state=str(State.FAILED), error=_stored(err))
        await svc.redis.delete(keys.roster_upload_file(upload_id))
        return str(err.code)
    except Exception as exc:  # Valkey gone, say: the host may upload again
        log.warning("checking a roster's upload failed (%s)", type(exc).__name__)
        await _set(
            svc,
            upload_id,
            state=str(State.FAILED),
            error=_stored(VotingError(ErrorCode.UNAVAILABLE)),
        )
        await svc.redis.delete(keys.roster_upload_file(upload_id))
        return "unavailable"
    pepper = svc.settings.phone_pepper.reveal()
    rows = [[phones.phone_ref(pepper, r.e164), r.name, r.group] for r in checked.accepted]
    cols = checked.columns
    reasons: dict[str, int] = {}
    for r in checked.refused:
        reasons[str(r.reason)] = reasons.get(str(r.reason), 0) + 1
    preview = {
        "columns": {
            "phone": column_letter(cols.phone),
            "name": None if cols.name is None else column_letter(cols.name),
            "group": None if cols.group is None else column_letter(cols.group),
            "header": cols.header,
        },
        "rows": checked.rows,
        "accepted": len(checked.accepted),
        "sample": [
            {"line": r.line, "name": r.name, "group": r.group} for r in checked.accepted[:SAMPLE]
        ],
        "refused": [
            {
                "line": r.line,
                "cell": r.cell,
                "reason": str(r.reason),
                "name": r.name,
                "detail": r.detail(),
            }
            for r in checked.refused[:LISTED]
        ],
        "refused_count": len(checked.refused),
        "reasons": reasons,
        "groups": [{"name": n, "count": c} for n, c in checked.groups.items()],
        "ungrouped": sum(1 for r in checked.accepted if not r.group),
    }
    async with svc.redis.pipeline(transaction=False) as pipe:
        pipe.set(keys.roster_upload_rows(upload_id), orjson.dumps(rows).decode(), ex=UPLOAD_TTL_S)
        pipe.delete(keys.roster_upload_file(upload_id))
        await pipe.execute()
    await _set(
        svc, upload_id, state=str(State.READY), preview=preview, done=check.line, total=check.line
    )
    return "ready"


def _stored(err: VotingError) -> dict[str, Any]:
    return {
        "code": str(err.code),
        "fields": {k: v for k, v in err.fields.items() if isinstance(v, str | int)},
    }


async def confirm(
    svc: Services, upload_id: str, host_id: str, choice: dict[str, Any]
) -> dict[str, Any]:
    """Save a checked upload into groups, as the host chose:

    - ``{"group": <id>}``: every row into that group of the host's;
    - ``{"name": <text>}``: every row into a new group of that name;
    - ``{"by_column": true, "name"?: <text>}``: each row into the group its group column
      names (one of the host's of that name, else a new one); rows without one into the
      group ``name`` (needed only if there are such rows).
    """
    upload = await upload_for(svc, upload_id, host_id)
    if upload["state"] != State.READY:
        raise invalid_state(N_("this upload is not waiting to be saved"))
    preview = upload["preview"]
    plan: dict[str, str] = {}
    if choice.get("by_column") is True:
        if preview["columns"]["group"] is None:
            raise bad_request(N_("the file has no group column"))
        names = [g["name"] for g in preview["groups"]]
        if preview["ungrouped"]:
            if choice.get("name") is None:
                raise bad_request(N_("name a group for the rows that have none"))
            plan[""] = check_group_name(choice.get("name"))
        plan.update({n: n for n in names})
        ids = {}
        for name in dict.fromkeys(plan.values()):
            found = await store.group_named(svc, host_id, name)
            ids[name] = found.id if found else (await store.create_group(svc, host_id, name)).id
        targets: dict[str, Any] = {"by": {cell: ids[name] for cell, name in plan.items()}}
    elif isinstance(choice.get("group"), str):
        group = await store.group_for(svc, choice["group"], host_id)
        targets = {"all": group.id}
    elif choice.get("name") is not None:
        targets = {"all": (await store.create_group(svc, host_id, choice.get("name"))).id}
    else:
        raise bad_request(N_("choose a group, name a new one, or take the file's group column"))
    if not await svc.redis.hsetnx(svc.keys.roster_upload(upload_id), "confirmed", 1):
        raise invalid_state(N_("this upload is not waiting to be saved"))
    await _set(
        svc, upload_id, state=str(State.SAVING), plan=targets, done=0, total=preview["accepted"]
    )
    await _enqueue(svc, "roster_save", upload_id)
    return await upload_for(svc, upload_id, host_id)


async def _save(ctx: dict[str, Any], upload_id: str) -> str:
    """Add a confirmed upload's rows to their groups (the job ``roster_save``)."""
    svc: Services = ctx["svc"]
    keys = svc.keys
    meta = await svc.redis.hgetall(keys.roster_upload(upload_id))
    if meta.get("state") != State.SAVING:
        return "gone"
    host_id = meta["host"]
    plan: dict[str, Any] = orjson.loads(meta["plan"])
    rows = orjson.loads(await svc.redis.get(keys.roster_upload_rows(upload_id)) or "[]")
    grouped: dict[str, list[tuple[str, str]]] = {}
    for ref, name, group in rows:
        grouped.setdefault(plan.get("all") or plan["by"][group], []).append((ref, name))
    done, result = 0, []
    for group_id, members in grouped.items():
        added = 0
        for start in range(0, len(members), store.BATCH):
            chunk = members[start : start + store.BATCH]
            async with store.locked(svc, host_id):
                added += await store.add_members(svc, group_id, chunk)
            done += len(chunk)
            await _set(svc, upload_id, done=done)
        group = await store.group_for(svc, group_id, host_id)
        result.append({**group.public(), "added": added})
    await svc.redis.delete(keys.roster_upload_rows(upload_id))
    await _set(svc, upload_id, state=str(State.DONE), result={"groups": result}, done=done)
    return "done"


#: The jobs, for ``live.jobs.JobWorker``.
JOBS = [
    func(_parse, name="roster_parse", timeout=JOB_TIMEOUT_S),
    func(_save, name="roster_save", timeout=JOB_TIMEOUT_S),
]
