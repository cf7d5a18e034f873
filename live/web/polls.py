"""Citywide polls over HTTP: made by a signed-in citizen (general) or a department's
official (policy), read by anyone, changed only by their author or department.

Voting and the live tally go over the socket (``join`` with the poll's id), as in a room.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from live import eligibility, limits, officials, store
from live.citizens import accounts
from live.clock import now_ms
from live.moderation import reports
from live.polls import discovery
from live.polls import store as polls
from live.rosters import store as roster_store
from live.services import Services
from live.web import api, citizens, console, export, i18n, moderation
from live.web.pages import LIVE_STRINGS, _survey_strings, error_text, render
from rooms.areas import AREAS, Area
from rooms.comments import EDIT_MINUTES, MAX_BODY, REPORT_REASONS, takes_comments
from rooms.discovery import check_position, check_radius
from rooms.eligibility import AGE_NAMES, DISTRICT_NAMES, GENDER_NAMES, JOB_NAMES, Target
from rooms.errors import N_, ErrorCode, VotingError, bad_request, not_found
from rooms.polls import (
    BADGES,
    MAX_QUESTIONS,
    Author,
    PollKind,
    PollStatus,
    Reflection,
    check_author,
    check_edit,
    check_poll,
    check_reflection,
    is_policy,
)
from rooms.questions import QuestionSpec, build_question

_AREAS = ", ".join(a.value for a in Area)


async def _official(request: Request, svc: Services) -> Author | None:
    host_id = await api.signed_in(request)
    if host_id is None:
        return None
    official = await officials.official_of(svc, host_id)
    if official is None or official.department is None:
        return Author(host_id=host_id)
    return Author(host_id=host_id, department_id=official.department.id)


async def author_of(request: Request, kind: PollKind) -> Author:
    """Who asks, as the kind of poll needs them: a signed-in official of a department for
    a policy poll, a signed-in citizen for a general one."""
    svc = api.services(request)
    if is_policy(kind):
        official = await _official(request, svc)
        if official is None and await citizens.signed_in(request) is None:
            raise VotingError(ErrorCode.UNAUTHORIZED)
        if official is None or official.department_id is None:
            raise VotingError(ErrorCode.NOT_OFFICIAL)
        return official
    citizen_id = await citizens.signed_in(request)
    if citizen_id is None:
        raise VotingError(ErrorCode.UNAUTHORIZED)
    return Author(citizen_id=citizen_id)


def _questions(value: object) -> list[QuestionSpec]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_QUESTIONS:
        raise bad_request(N_("questions is a list of 1 to {n} questions"), n=MAX_QUESTIONS)
    specs = []
    for q in value:
        if not isinstance(q, dict):
            raise bad_request(N_("each question is an object"))
        # A poll's questions open and close with the poll (its opens_ms and closes_ms).
        if q.get("duration_s") not in (None, 0, ""):
            raise bad_request(
                N_(
                    "duration_s is for a room's questions: a poll's questions stay open "
                    "until the poll closes (closes_ms)"
                )
            )
        specs.append(
            build_question(
                q.get("title"),
                q.get("kind", "single"),
                q.get("options", []),
                max_choices=q.get("max_choices"),
                description=q.get("description", ""),
                scale=q.get("scale", 5),
                image=q.get("image", ""),
                image_alt=q.get("image_alt", ""),
                max_ballots=q.get("max_ballots"),
                parts=q.get("parts"),
            )
        )
    return specs


def _reflection(r: Reflection | None) -> dict[str, Any] | None:
    return None if r is None else {"text": r.text, "date": r.reflected_on, "link": r.link}


async def _view(svc: Services, poll: polls.Poll) -> dict[str, Any]:
    body = poll.public()
    loaded = await store.load_questions(svc, list(poll.question_ids))
    body["questions"] = [q.public() for q in loaded]
    body["reflection"] = _reflection(await polls.reflection_of(svc, poll.id))
    return body


def _making_subjects(svc: Services, author: Author, address: str | None) -> list[limits.Subject]:
    """What opening a poll counts against: its author (a citizen, or a department) and the
    client address, ``MVOTING_POLLS_PER_DAY`` each."""
    who = author.department_id or author.citizen_id or ""
    per_day = limits.quota(svc.settings.polls_per_day, 86_400)
    return [
        limits.Subject(svc.keys.limit("polls", f"by:{who}"), per_day),
        limits.Subject(svc.keys.limit("polls", f"addr:{limits.client_address(address)}"), per_day),
    ]


async def create_poll(request: Request) -> Response:
    data = await api.json_body(request)
    svc = api.services(request)
    spec = check_poll(data, now_ms=now_ms(), shortest_ms=svc.settings.poll_shortest * 1000)
    author = await author_of(request, spec.kind)
    check_author(spec.kind, author, spec.target)  # a refusal counts against no limit
    questions = _questions(data.get("questions"))
    for n, q in enumerate(questions):
        api.check_images(svc, q, *([spec.image] if n == 0 else []))
    await limits.count(svc.redis, _making_subjects(svc, author, api.client_address(request)))
    poll = await polls.create_poll(svc, spec, questions, author)
    return api.ok({"poll": await _view(svc, poll)}, 201)


async def _listed(svc: Services, found: list[polls.Poll], citizen_id: str | None) -> list[Any]:
    marks = await discovery.badges(svc, found, citizen_id)
    return [{**p.public(), **marks[p.id]} for p in found]


async def list_polls(request: Request) -> Response:
    """``?area=&q=&status=&mine=1&my_areas=1``: polls newest first, each with its badges
    (``hot``: its rank among the day's most voted, ``recommended``, ``voted``)."""
    svc = api.services(request)
    params = request.query_params
    citizen_id = await citizens.signed_in(request)
    area = params.get("area") or None
    if area is not None and area not in set(Area):
        raise bad_request(N_("{name} is one of {allowed}"), name="area", allowed=_AREAS)
    status = params.get("status") or None
    if status is not None and status not in set(PollStatus):
        allowed = ", ".join(s.value for s in PollStatus)
        raise bad_request(N_("{name} is one of {allowed}"), name="status", allowed=allowed)
    words = (params.get("q") or "")[:100]
    found = await discovery.listing(
        svc,
        area=area,
        words=words,
        status=status,
        citizen_id=citizen_id if params.get("mine") == "1" and citizen_id else None,
    )
    if params.get("my_areas") == "1" and citizen_id is not None:
        chosen = await accounts.areas_of(svc, citizen_id)
        if chosen is not None:
            found = [p for p in found if p.spec.area in chosen]
    return api.ok({"polls": await _listed(svc, found, citizen_id)})


async def polls_near(request: Request) -> Response:
    """``?lat=&lon=&radius_km=``: the polls not closed within the radius, nearest first,
    each with ``distance_km``."""
    params = request.query_params
    lat, lon = check_position(params.get("lat"), params.get("lon"))
    radius = check_radius(params.get("radius_km", "2"))
    svc = api.services(request)
    near = await discovery.nearby(svc, lat, lon, radius)
    found = await polls.load_polls(svc, [pid for pid, _ in near])
    listed = await _listed(svc, found, await citizens.signed_in(request))
    distance = dict(near)
    return api.ok({"polls": [{**p, "distance_km": round(distance[p["id"]], 3)} for p in listed]})


async def my_areas(request: Request) -> Response:
    """``GET``: the areas the signed-in citizen chose to see (``null``: all); ``PUT
    {"areas": [...] | null}`` chooses them."""
    citizen_id = await citizens.signed_in(request)
    if citizen_id is None:
        raise VotingError(ErrorCode.UNAUTHORIZED)
    svc = api.services(request)
    if request.method == "PUT":
        data = await api.json_body(request)
        chosen = await accounts.set_areas(svc, citizen_id, data.get("areas"))
    else:
        chosen = await accounts.areas_of(svc, citizen_id)
    return api.ok({"areas": None if chosen is None else [str(a) for a in chosen]})


async def get_poll(request: Request) -> Response:
    svc = api.services(request)
    poll = await polls.load_poll(svc, request.path_params["poll_id"])
    if poll is None:
        raise not_found(N_("poll {id}"), request.path_params["poll_id"])
    state, reason = await reports.poll_moderation(svc, poll.id)
    if state is not None and not await moderation.is_moderator(request):
        if state == "deleted":
            raise not_found(N_("poll {id}"), poll.id)
        raise VotingError(ErrorCode.POLL_HIDDEN, reason=reason)
    body = await _view(svc, poll)
    body["for_you"] = await for_you(request, poll)
    body["moderation"] = {"state": state, "reason": reason} if state else None
    return api.ok({"poll": body})


async def for_you(request: Request, poll: polls.Poll) -> dict[str, Any]:
    """Whether the viewer may vote on the poll, as its target and their profile decide
    (``code``: ``None``, or the refusal the cast script would give, with its sentence)."""
    svc = api.services(request)
    first = poll.question_ids[0] if poll.question_ids else None
    rule = polls.rule_of_poll(svc, poll)
    code = await eligibility.decision_for(
        svc,
        rule,
        first,
        citizen_id=await citizens.signed_in(request),
        host_id=await api.signed_in(request),
        officials_vote=poll.spec.target.officials,
    )
    if code is None:
        return {"code": None, "message": ""}
    return {"code": str(code), "message": VotingError(code).text(i18n.gettext)}


async def _poll_and_asker(request: Request) -> tuple[polls.Poll, Author]:
    """The poll of the path, and who asks to act on it (as its kind needs them)."""
    svc = api.services(request)
    poll_id = request.path_params["poll_id"]
    found = await polls.load_poll(svc, poll_id)
    if found is None:
        raise not_found(N_("poll {id}"), poll_id)
    return found, await author_of(request, found.spec.kind)


async def edit_poll(request: Request) -> Response:
    """``PATCH {"title"?, "description"?, "tags"?}``: its author, or for a policy poll an
    official of its department, only."""
    svc = api.services(request)
    found, who = await _poll_and_asker(request)
    poll_id = found.id
    await polls.poll_for(svc, poll_id, who)
    spec = check_edit(await api.json_body(request), found.spec)
    poll = await polls.edit_poll(svc, poll_id, spec.title, spec.description, spec.tags)
    return api.ok({"poll": await _view(svc, poll)})


async def publish_reflection(request: Request) -> Response:
    """``POST {"text", "date": "YYYY-MM-DD", "link"?}``: how the closed policy poll's result
    was reflected, by an official of its department."""
    svc = api.services(request)
    found, who = await _poll_and_asker(request)
    reflection = check_reflection(await api.json_body(request))
    done = await polls.publish_reflection(svc, found.id, reflection, who)
    return api.ok({"reflection": _reflection(done)})


async def _cards(
    svc: Services, found: list[polls.Poll], citizen_id: str | None
) -> list[dict[str, Any]]:
    """What a list shows of each poll: its badges, area, department and closing time."""
    marks = await discovery.badges(svc, found, citizen_id)
    names: dict[str, str] = {}
    zone = svc.settings.zone
    cards = []
    for p in found:
        dept = p.owner.department_id
        if dept is not None and dept not in names:
            d = await officials.department_by_id(svc, dept)
            names[dept] = d.name if d else ""
        cards.append(
            {
                "poll": p,
                "badge": BADGES[p.spec.kind],
                "area": AREAS[p.spec.area],
                "department": names.get(dept or "", ""),
                "closes": _when(p.spec.closes_ms, zone),
                **marks[p.id],
            }
        )
    return cards


async def front_page(request: Request) -> Response:
    """Hot issues: policy and general polls on one page, the day's most voted first, with
    filters (area, words, open or closed, a citizen's chosen areas) and "near me"."""
    svc = api.services(request)
    params = request.query_params
    citizen_id = await citizens.signed_in(request)
    area = params.get("area") or ""
    area = area if area in set(Area) else ""
    status = params.get("status") or "open"
    status = status if status in {"open", "closed", "all"} else "open"
    words = (params.get("q") or "")[:100]
    mine = params.get("my_areas") == "1" and citizen_id is not None
    found = await discovery.listing(
        svc, area=area or None, words=words, status=None if status == "all" else status
    )
    if mine and citizen_id is not None:
        chosen = await accounts.areas_of(svc, citizen_id)
        if chosen is not None:
            found = [p for p in found if p.spec.area in chosen]
    cards = await _cards(svc, found, citizen_id)
    # The day's hot polls lead, in their order; the rest newest first.
    cards.sort(key=lambda c: (c["hot"] is None, c["hot"] or 0))
    return render(
        request,
        "polls.html",
        {
            "cards": cards,
            "areas": [(str(a), AREAS[a]) for a in Area],
            "area": area,
            "status": status,
            "words": words,
            "my_areas": mine,
            "signed_in": citizen_id is not None,
        },
    )


async def new_poll_page(request: Request) -> Response:
    """The form that opens a poll: a citizen's general poll, or, for an official of a
    department, a policy poll (its kind to choose)."""
    svc = api.services(request)
    official = await _official(request, svc)
    is_official = official is not None and official.department_id is not None
    is_citizen = await citizens.signed_in(request) is not None
    if not is_official and not is_citizen:
        return RedirectResponse("/citizen/signin?next=/polls/new", status_code=303)
    # Each kind only to who may open it: policy polls to officials, general ones to citizens.
    kinds = [(str(k), BADGES[k]) for k in PollKind if (is_official if is_policy(k) else is_citizen)]
    groups, departments = [], []
    if is_official:
        assert official is not None and official.host_id is not None
        groups = await roster_store.groups_of(svc, official.host_id)
        departments = (await officials.directory(svc))[0]
    return render(
        request,
        "poll_new.html",
        {
            "kinds": kinds,
            # The on-site code is shown by the poll room's host: an official's poll only.
            "is_official": is_official,
            "survey_strings": _survey_strings(),
            "groups": groups,
            "departments": departments,
            "ages": AGE_NAMES,
            "genders": GENDER_NAMES,
            "districts": DISTRICT_NAMES,
            "jobs": JOB_NAMES,
            "areas": [(str(a), AREAS[a]) for a in Area],
            "question_kinds": list(console.kind_words().items()),
            "visibilities": list(console.visibility_words().items()),
        },
    )


async def department_page(request: Request) -> Response:
    """An official's console: the department's polls, and for each closed policy poll the
    form that publishes (or corrects) how its result was reflected."""
    svc = api.services(request)
    host_id = await api.signed_in(request)
    if host_id is None:
        return RedirectResponse("/host/signin?next=/host/polls", status_code=303)
    official = await officials.official_of(svc, host_id)
    if official is None or official.department is None:
        message = error_text(VotingError(ErrorCode.NOT_OFFICIAL))
        return render(request, "error.html", {"message": message}, 403)
    found = await discovery.listing(svc, department_id=official.department.id)
    items = []
    zone = svc.settings.zone
    for p in found:
        items.append(
            {
                "poll": p,
                "badge": BADGES[p.spec.kind],
                "closes": _when(p.spec.closes_ms, zone),
                "reflection": await polls.reflection_of(svc, p.id),
            }
        )
    return render(
        request, "host/polls.html", {"department": official.department.name, "items": items}
    )


async def reflections_page(request: Request) -> Response:
    """The published reflections of policy polls, newest first."""
    svc = api.services(request)
    items = []
    for poll, reflection, _ in await polls.reflections(svc):
        department = None
        if poll.owner.department_id is not None:
            department = await officials.department_by_id(svc, poll.owner.department_id)
        items.append(
            {
                "poll": poll,
                "badge": BADGES[poll.spec.kind],
                "department": department.name if department else "",
                "reflection": reflection,
            }
        )
    return render(request, "reflections.html", {"items": items})


async def poll_page(request: Request) -> Response:
    """The poll's public page: what it asks, who asks it and until when; its questions,
    ballots and live tally through the vote page's script, joined by the poll's id."""
    svc = api.services(request)
    poll = await polls.load_poll(svc, request.path_params["poll_id"])
    if poll is None:
        message = error_text(not_found(N_("poll {id}"), request.path_params["poll_id"]))
        return render(request, "error.html", {"message": message}, 404)
    state, reason = await reports.poll_moderation(svc, poll.id)
    monitor = await moderation.is_moderator(request)
    if state is not None and not monitor:
        # Monitors hid or deleted it: a notice in its place, for citizens and anyone else.
        hidden = VotingError(ErrorCode.POLL_HIDDEN, reason=reason)
        message = error_text(hidden if state == "hidden" else not_found(N_("poll {id}"), poll.id))
        return render(
            request, "error.html", {"message": message}, 410 if state == "hidden" else 404
        )
    spec = poll.spec
    department = None
    if poll.owner.department_id is not None:
        department = await officials.department_by_id(svc, poll.owner.department_id)
    zone = svc.settings.zone
    strings = {
        "locating": i18n.gettext("Finding your position to send with the ballot…"),
        "no_position": i18n.gettext(
            "Your position could not be read: allow this page to use your location and try again."
        ),
    }
    data = {"poll": poll.id, "strings": strings, "needs_position": bool(spec.target.radius_m)}
    context = {
        "poll": poll,
        "audience": await audience_of(svc, spec.target),
        "for_you": await for_you(request, poll),
        "officials_vote": spec.target.officials,
        "badge": BADGES[spec.kind],
        "area": AREAS[spec.area],
        "department": department.name if department else None,
        "opens": _when(spec.opens_ms, zone),
        "closes": _when(spec.closes_ms, zone),
        "zone": svc.settings.timezone,
        "signed_in": await citizens.signed_in(request) is not None,
        "reflection": await polls.reflection_of(svc, poll.id),
        "page_data": data,
        "live_script": "vote.js",
        "page_strings": LIVE_STRINGS,
        "moderation": {"state": state, "reason": reason} if state else None,
        "monitor": monitor,
        "comments": await _comments_data(request, poll),
    }
    return render(request, "poll.html", context)


async def _comments_data(request: Request, poll: polls.Poll) -> dict[str, Any] | None:
    """What the poll page's comments (``static/js/comments.js``) need; None if the poll
    takes none."""
    if not takes_comments(poll.spec.kind, poll.spec.comments):
        return None
    _ = i18n.gettext
    strings = {
        "voted": _("Voted"),
        "edited": _("(edited)"),
        "hidden": _("This comment was hidden by the monitors."),
        "deleted": _("This comment was deleted."),
        "reason_is": _("Reason:"),
        "reply": _("Reply"),
        "your_reply": _("Your reply"),
        "edit": _("Edit"),
        "edit_label": _("Edit your comment"),
        "remove": _("Delete"),
        "remove_sure": _("Delete this comment?"),
        "report": _("Report"),
        "report_why": _("Why are you reporting this?"),
        "report_note": _("Anything the monitors should know (optional)"),
        "report_send": _("Send the report"),
        "reported": _("Thank you: the monitors will look at it."),
        "send": _("Post"),
        "cancel": _("Cancel"),
        "failed": _("The server could not be reached. Try again."),
    }
    return {
        "poll": poll.id,
        "signed_in": await citizens.signed_in(request) is not None,
        "edit_ms": EDIT_MINUTES * 60_000,
        "max_body": MAX_BODY,
        "reasons": [[r.value, _(label)] for r, label in REPORT_REASONS.items()],
        "strings": strings,
    }


async def audience_of(svc: Services, target: Target) -> list[str]:
    """Who may vote on a poll, in the page's language, one phrase per rule; ``[]``: every
    signed-in citizen."""
    _ = i18n.gettext
    said = []
    if target.departments:
        names = []
        for dept in target.departments:
            found = await officials.department_by_id(svc, dept)
            names.append(found.name if found else dept)
        said.append(_("Officials of {departments}").format(departments=", ".join(names)))
    if target.groups:
        said.append(_("Citizens whose number is on the poll's list"))
    if target.ages:
        said.append(", ".join(_(AGE_NAMES[a]) for a in target.ages))
    if target.genders:
        said.append(", ".join(_(GENDER_NAMES[g]) for g in target.genders))
    if target.districts:
        places = ", ".join(_(DISTRICT_NAMES[d]) for d in target.districts)
        said.append(_("Residents of {districts}").format(districts=places))
    if target.jobs:
        said.append(", ".join(_(JOB_NAMES[j]) for j in target.jobs))
    if target.radius_m:
        said.append(_("Within {metres} m of the poll's place").format(metres=target.radius_m))
    if target.site:
        said.append(_("Those present, with the code shown on site"))
    return said


def _when(ms: int, zone: tzinfo) -> str:
    at = export.local_time(ms, zone)
    return "" if at is None else at.strftime("%Y-%m-%d %H:%M")


routes = [
    Route("/polls", front_page, methods=["GET"]),
    Route("/polls/new", new_poll_page, methods=["GET"]),
    Route("/host/polls", department_page, methods=["GET"]),
    Route("/reflections", reflections_page, methods=["GET"]),
    Route("/polls/{poll_id}", poll_page, methods=["GET"]),
    Route("/api/polls/{poll_id}/reflection", publish_reflection, methods=["POST"]),
    Route("/api/polls", create_poll, methods=["POST"]),
    Route("/api/polls", list_polls, methods=["GET"]),
    Route("/api/polls/near", polls_near, methods=["GET"]),
    Route("/api/citizens/me/areas", my_areas, methods=["GET", "PUT"]),
    Route("/api/polls/{poll_id}", get_poll, methods=["GET"]),
    Route("/api/polls/{poll_id}", edit_poll, methods=["PATCH"]),
]
