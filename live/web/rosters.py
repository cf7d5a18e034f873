"""Rosters over HTTP: a host's groups of phone numbers, imported from a spreadsheet and
edited, for polls that take ballots only from them.

The JSON API takes the host's session and, like every host API, JSON bodies only (a page
of another site cannot send them); the upload is the file itself as the body
(``POST /api/rosters/uploads?name=<file name>``), refused past ``files.MAX_BYTES`` by its
``Content-Length`` before it is read, and by its size while it streams. No response
holds a number: members are shown by name and reference.

    GET    /api/rosters                                the host's groups: id, name, size
    POST   /api/rosters                     {name}     a new, empty group
    GET    /api/rosters/<id>?offset=&limit=            a group, its members and its polls
    PATCH  /api/rosters/<id>                {name}     rename
    DELETE /api/rosters/<id>                           delete (not while an open poll targets it)
    POST   /api/rosters/<id>/members        {phone, name?}
    POST   /api/rosters/<id>/members/remove {member | phone}
    POST   /api/rosters/<id>/members/move   {member | phone, to}  the member, both groups
    POST   /api/rosters/uploads?name=                  202: stored; checked by a job
    GET    /api/rosters/uploads/<id>                   its state, progress, preview, result
    POST   /api/rosters/uploads/<id>/confirm {group} | {name} | {by_column, name?}
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from live import limits, officials
from live.rosters import files, imports, store
from live.web import api, bodies, i18n
from live.web.pages import error_text, render
from rooms.errors import N_, ErrorCode, VotingError, bad_request, fill
from rooms.rosters import MAX_BLANK_RUN, MAX_ROWS, REASONS, Reason

#: Uploads a host may start an hour (each costs a job's parse).
UPLOADS_PER_HOUR = 60
#: Members a group's page and API list at once.
PAGE = 200
#: An offset past the end of every group; a larger one would not fit the database's
#: integers (SQLite's and PostgreSQL's are 64-bit), and its page is as empty.
LAST_OFFSET = 2**31


def _too_large(size: int) -> None:
    raise VotingError(ErrorCode.FILE_TOO_LARGE, max_mb=files.MAX_BYTES // (1024 * 1024))


async def _host(request: Request) -> str:
    return await api._host_id(request)


async def list_groups(request: Request) -> Response:
    svc = api.services(request)
    groups = await store.groups_of(svc, await _host(request))
    return api.ok({"groups": [g.public() for g in groups]})


async def create_group(request: Request) -> Response:
    host_id = await _host(request)
    data = await api.json_body(request)
    group = await store.create_group(api.services(request), host_id, data.get("name"))
    return api.ok({"group": group.public()}, 201)


def _window(request: Request) -> tuple[int, int]:
    try:
        offset = min(LAST_OFFSET, max(0, int(request.query_params.get("offset", "0"))))
        limit = min(PAGE, max(1, int(request.query_params.get("limit", str(PAGE)))))
    except ValueError:
        raise bad_request(N_("offset and limit are whole numbers")) from None
    return offset, limit


async def get_group(request: Request) -> Response:
    host_id = await _host(request)
    svc = api.services(request)
    group = await store.group_for(svc, request.path_params["group_id"], host_id)
    offset, limit = _window(request)
    members = await store.members_of(svc, group.id, limit=limit, offset=offset)
    return api.ok(
        {
            "group": group.public(),
            "members": [m.public() for m in members],
            "polls": await store.polls_of(svc, group.id),
        }
    )


async def rename_group(request: Request) -> Response:
    host_id = await _host(request)
    data = await api.json_body(request)
    svc = api.services(request)
    group = await store.rename_group(
        svc, request.path_params["group_id"], host_id, data.get("name")
    )
    return api.ok({"group": group.public()})


async def delete_group(request: Request) -> Response:
    host_id = await _host(request)
    await store.delete_group(api.services(request), request.path_params["group_id"], host_id)
    return api.ok({})


async def add_member(request: Request) -> Response:
    host_id = await _host(request)
    data = await api.json_body(request)
    svc = api.services(request)
    added = await store.add_number(
        svc, request.path_params["group_id"], host_id, data.get("phone"), data.get("name")
    )
    return api.ok({"member": added.public()}, 201)


def _member_of(request: Request, data: dict[str, Any]) -> str:
    """The member a body names: by ``member`` (its reference) or by ``phone``."""
    if isinstance(data.get("member"), str):
        return str(data["member"])
    if data.get("phone") is not None:
        return store.reference(api.services(request), data.get("phone"))
    raise bad_request(N_("name the member or give its number"))


async def remove_member(request: Request) -> Response:
    host_id = await _host(request)
    data = await api.json_body(request)
    svc = api.services(request)
    group_id = request.path_params["group_id"]
    await store.remove_member(svc, group_id, host_id, _member_of(request, data))
    return api.ok({"group": (await store.group_for(svc, group_id, host_id)).public()})


async def move_member(request: Request) -> Response:
    host_id = await _host(request)
    data = await api.json_body(request)
    to = data.get("to")
    if not isinstance(to, str):
        raise bad_request(N_("choose the group to move the number to"))
    svc = api.services(request)
    group_id = request.path_params["group_id"]
    moved = await store.move_member(svc, group_id, host_id, _member_of(request, data), to)
    return api.ok(
        {
            "member": moved.public(),
            "group": (await store.group_for(svc, group_id, host_id)).public(),
            "to": (await store.group_for(svc, to, host_id)).public(),
        }
    )


async def upload(request: Request) -> Response:
    """Store the file (the body) and queue its check: 202 with the upload to poll."""
    host_id = await _host(request)
    svc = api.services(request)
    await limits.count(
        svc.redis,
        [
            limits.Subject(
                svc.keys.limit("rosters", f"host:{host_id}"),
                limits.quota(UPLOADS_PER_HOUR, 3600),
            )
        ],
    )
    filename = request.query_params.get("name", "")[:200]
    data = await bodies.read(request, files.MAX_BYTES, check=_too_large)
    upload_id = await imports.start(svc, host_id, filename, data)
    return api.ok({"upload": _shown(await imports.upload_for(svc, upload_id, host_id))}, 202)


def _shown(upload: dict[str, Any]) -> dict[str, Any]:
    """The upload as the host reads it: each refusal's reason, and the error, in the
    request's language."""
    _ = i18n.gettext
    if "error" in upload:
        err = imports.error_of(upload["error"])
        upload["error"] = err.as_dict(_)
    preview = upload.get("preview")
    if preview is not None:
        for row in preview["refused"]:
            row["why"] = fill(REASONS[Reason(row["reason"])], row["detail"], _)
    return upload


async def get_upload(request: Request) -> Response:
    host_id = await _host(request)
    svc = api.services(request)
    found = await imports.upload_for(svc, request.path_params["upload_id"], host_id)
    return api.ok({"upload": _shown(found)})


async def confirm_upload(request: Request) -> Response:
    host_id = await _host(request)
    data = await api.json_body(request)
    svc = api.services(request)
    done = await imports.confirm(svc, request.path_params["upload_id"], host_id, data)
    return api.ok({"upload": _shown(done)}, 202)


def _page_strings() -> dict[str, str]:
    _ = i18n.gettext
    return {
        "uploading": _("Sending the file…"),
        "queued": _("Waiting for its turn…"),
        "parsing": _("Reading the file: row {done} of about {total}"),
        "parsing_rows": _("Reading the file: row {done}"),
        "sample": _("The first {n} rows taken (the numbers are not shown back):"),
        "more_sample": _("…and {n} more rows taken."),
        "file_groups": _("Groups the file names:"),
        "file_group": _("{name}: {n} numbers"),
        "no_group": _("(none)"),
        "saving": _("Saving: {done} of {total} numbers"),
        "done": _("Saved."),
        "failed": _("The server could not be reached; try again."),
        "accepted": _("{n} numbers will be saved."),
        "refused": _("{n} rows are refused:"),
        "more_refused": _("…and {n} more refused rows."),
        "no_name": _("(no name)"),
        "row": _("Row"),
        "cell": _("Cell"),
        "name": _("Name"),
        "group": _("Group"),
        "reason": _("Reason"),
        "added": _("{name}: {added} numbers added"),
        "open": _("Open the group"),
        "removed": _("Removed."),
        "moved": _("Moved."),
        "renamed": _("Renamed."),
        "confirm_delete": _("Delete this group and its numbers?"),
        "deleted": _("Deleted."),
        "member_added": _("Added."),
        # A group's size, as its page writes it (``{n}``), for one number and for more.
        **{
            key: i18n.ngettext("%(num)d number", "%(num)d numbers", n).replace("%(num)d", "{n}")
            for key, n in (("size_one", 1), ("size_other", 2))
        },
    }


async def _targets(svc: Any, host_id: str) -> bool:
    official = await officials.official_of(svc, host_id)
    return official is not None and official.department is not None


async def rosters_page(request: Request) -> Response:
    """The host's groups, and the form that imports a file into them."""
    svc = api.services(request)
    host_id = await api.signed_in(request)
    if host_id is None:
        return RedirectResponse("/host/signin?next=/host/rosters", status_code=303)
    return render(
        request,
        "host/rosters.html",
        {
            "groups": await store.groups_of(svc, host_id),
            # Only an official of a department opens polls a roster limits (``check_author``).
            "targets": await _targets(svc, host_id),
            "max_mb": files.MAX_BYTES // (1024 * 1024),
            "max_rows": f"{MAX_ROWS:,}",
            "blank_run": f"{MAX_BLANK_RUN:,}",
            "strings": _page_strings(),
        },
    )


async def group_page(request: Request) -> Response:
    """One group: rename, delete, its members to remove or move, a number to add."""
    svc = api.services(request)
    group_id = request.path_params["group_id"]
    host_id = await api.signed_in(request)
    if host_id is None:
        return RedirectResponse(f"/host/signin?next=/host/rosters/{group_id}", status_code=303)
    try:
        group = await store.group_for(svc, group_id, host_id)
    except VotingError as err:
        return render(request, "error.html", {"message": error_text(err)}, 404)
    others = [g for g in await store.groups_of(svc, host_id) if g.id != group.id]
    return render(
        request,
        "host/roster.html",
        {
            "group": group,
            "members": await store.members_of(svc, group.id, limit=PAGE),
            "page": PAGE,
            "others": others,
            "polls": await store.polls_of(svc, group.id),
            "strings": _page_strings(),
        },
    )


routes = [
    Route("/host/rosters", rosters_page, methods=["GET"]),
    Route("/host/rosters/{group_id}", group_page, methods=["GET"]),
    Route("/api/rosters", list_groups, methods=["GET"]),
    Route("/api/rosters", create_group, methods=["POST"]),
    Route("/api/rosters/uploads", upload, methods=["POST"]),
    Route("/api/rosters/uploads/{upload_id}", get_upload, methods=["GET"]),
    Route("/api/rosters/uploads/{upload_id}/confirm", confirm_upload, methods=["POST"]),
    Route("/api/rosters/{group_id}", get_group, methods=["GET"]),
    Route("/api/rosters/{group_id}", rename_group, methods=["PATCH"]),
    Route("/api/rosters/{group_id}", delete_group, methods=["DELETE"]),
    Route("/api/rosters/{group_id}/members", add_member, methods=["POST"]),
    Route("/api/rosters/{group_id}/members/remove", remove_member, methods=["POST"]),
    Route("/api/rosters/{group_id}/members/move", move_member, methods=["POST"]),
]
