"""What every operation of the JSON API takes and answers: ``OPERATIONS``, one entry per
``/api/`` route and method, keyed by the route's path as Starlette writes it, and the
record types of the answers (``COMPONENTS``). ``live.web.openapi`` makes the document of
them; ``tests/live/test_openapi.py`` fails on a route without an entry, or an entry
without a route.

Limits and enumerations are the domain's own, so the description follows them.
"""

from __future__ import annotations

from live import passwords
from live.web import export
from live.web.schemas import (
    ANY,
    BINARY,
    BOOL,
    CSV,
    ID,
    INT,
    MS,
    NUMBER,
    OBJECT,
    TEXT,
    Access,
    Op,
    Schema,
    array,
    between,
    closed,
    nullable,
    obj,
    one_of,
    ref,
    text,
)
from rooms import comments, polls, questions
from rooms.areas import Area
from rooms.citizens.codes import Purpose
from rooms.cohosts import Role
from rooms.comments import Action as ModerationAction
from rooms.comments import CommentStatus, ReportReason, Target
from rooms.draws import DrawState
from rooms.polls import PollKind, PollStatus
from rooms.questions import Action, Kind, Status
from rooms.visibility import Visibility

EMAIL: Schema = {"type": "string", "format": "email", "maxLength": 320}
NEW_PASSWORD: Schema = {
    "type": "string",
    "minLength": passwords.MIN_PASSWORD,
    "maxLength": passwords.MAX_PASSWORD,
}
PHONE: Schema = {"type": "string", "examples": ["010-1234-5678"]}
CODE: Schema = {"type": "string", "pattern": "^[0-9]{6}$"}
AREAS: Schema = nullable(array(one_of(Area)))
PLACE: Schema = obj("lat", "lon", lat=NUMBER, lon=NUMBER)
RECORDS: Schema = array(OBJECT)
#: a list of tags, or one text of them separated by commas or ``#``
TAGS: Schema = {
    "anyOf": [TEXT, array(text(polls.MAX_TAG), maxItems=polls.MAX_TAGS)],
}
COMMENT: Schema = text(comments.MAX_BODY, required=True)
#: ``""`` or the path of an uploaded image (``rooms.media``)
IMAGE: Schema = {"type": "string", "pattern": r"^(/media/[0-9a-f]{64}\.(png|jpg|gif|webp))?$"}
#: A comments page's cursor: ``<created_ms>.<id>``, or ``<created_ms>`` alone.
BEFORE: Schema = {"type": "string", "pattern": "^[0-9]{1,15}([.][0-9A-Za-z]{1,32})?$"}

#: The record types of answers; each names the fields every instance has.
COMPONENTS: dict[str, Schema] = {
    "Host": closed(obj("id", "email", "name", id=ID, email=TEXT, name=TEXT)),
    # Never a phone number: a citizen and a roster's member are named by id and name alone.
    "Citizen": closed(obj("id", "name", id=ID, name=TEXT)),
    "Room": obj(
        "id",
        "number",
        "title",
        "password",
        "key",
        "join_url",
        "presenter_url",
        id=ID,
        number=TEXT,
        title=TEXT,
        password=TEXT,
        key=TEXT,
        join_url=TEXT,
        presenter_url=TEXT,
        role=one_of(Role),
        current=nullable(ID),
        site=BOOL,
    ),
    "Question": obj(
        "id",
        "title",
        "kind",
        "options",
        "status",
        id=ID,
        title=TEXT,
        kind=one_of(Kind),
        options=array(OBJECT),
        visibility=one_of(Visibility),
        status=one_of(Status),
        revealed=BOOL,
        tally=OBJECT,
        hidden=array(TEXT),
    ),
    "Poll": obj(
        "id",
        "kind",
        "title",
        "status",
        "questions",
        id=ID,
        kind=one_of(PollKind),
        title=TEXT,
        status=one_of(PollStatus),
        area=TEXT,
        questions=array(ANY),
    ),
    "Draw": obj(
        "id",
        "room",
        "state",
        "title",
        "slots",
        "picks",
        id=ID,
        room=ID,
        state=one_of(DrawState),
        title=TEXT,
        slots=array(OBJECT),
        picks=array(OBJECT),
        seed=nullable(TEXT),
        url=TEXT,
    ),
    "Comment": obj(
        "id",
        "body",
        "status",
        id=ID,
        parent=nullable(ID),
        body=TEXT,
        status=one_of(CommentStatus),
        mine=BOOL,
    ),
    "Group": closed(obj("id", "name", "size", id=ID, name=TEXT, size=INT)),
    "Member": closed(obj("member", "name", member=TEXT, name=TEXT)),
    "Upload": obj("id", id=ID),
}

_ROOM = {"room": ref("Room")}
#: A move along the agenda: the question closed, the one opened, the current one.
_MOVED = {
    "closed": nullable(ref("Question")),
    "opened": nullable(ref("Question")),
    "current": nullable(ID),
}
_QUESTION = {"question": ref("Question")}
_POLL = {"poll": ref("Poll")}
_DRAW = {"draw": ref("Draw")}
_GROUP = {"group": ref("Group")}
_UPLOAD = {"upload": ref("Upload")}
_CITIZEN = {"citizen": ref("Citizen")}
_OPTION = {
    "anyOf": [
        text(questions.MAX_LABEL, required=True),
        obj(
            label=text(questions.MAX_LABEL),
            description=text(questions.MAX_DESCRIPTION),
            image=IMAGE,
            image_alt=text(questions.MAX_ALT),
        ),
    ]
}
_QUESTION_BODY = obj(
    "title",
    title=text(questions.MAX_TITLE, required=True),
    kind=one_of(Kind),
    # a list, or the labels in one text, separated by commas
    options={"anyOf": [TEXT, array(_OPTION, maxItems=questions.MAX_OPTIONS)]},
    max_choices=nullable(INT),
    visibility=one_of(Visibility),
    description=text(questions.MAX_DESCRIPTION),
    scale={"type": "integer", "minimum": 2, "maximum": max(questions.RATING_SCALES)},
    image=IMAGE,
    image_alt=text(questions.MAX_ALT),
    receipts=BOOL,
    max_ballots=nullable(between(0, questions.MAX_BALLOTS)),
    duration_s=nullable(between(0, questions.LONGEST_DURATION)),
    closes_at_ms=nullable(between(0, questions.CLOSES_AT_RANGE[1])),
    parts=nullable(array(OBJECT)),
)
#: A poll's question: a room's, but its visibility is the poll's and it stays open until
#: the poll closes (no duration of its own); ``max_ballots`` caps it first come, first
#: served, and a survey's ``parts`` are answered at once.
_POLL_QUESTION_BODY = obj(
    "title",
    **{
        k: v
        for k, v in _QUESTION_BODY["properties"].items()
        if k not in {"visibility", "receipts", "duration_s"}
    },
    duration_s=nullable(between(0, 0)),
)
_SLOTS = array({"anyOf": [TEXT, obj("label", label=TEXT, blank=BOOL)]})
_MEMBER = obj(member=TEXT, phone=PHONE)
_WORDS_BODY = {"anyOf": [obj("word", word=TEXT, allowed=BOOL), obj("words", words=array(TEXT))]}
_LISTED = {"words": RECORDS}

OPERATIONS: dict[tuple[str, str], Op] = {
    ("GET", "/api/openapi.json"): Op(
        "This description",
        Access.PUBLIC,
        whole=obj("openapi", "info", "paths", openapi=TEXT, info=OBJECT, paths=OBJECT),
    ),
    # hosts and their sessions (live.web.api)
    ("POST", "/api/hosts"): Op(
        "Sign up as a host (and sign in)",
        Access.PUBLIC,
        answer={"host": ref("Host")},
        status=(201,),
        body=obj("email", "password", email=EMAIL, password=NEW_PASSWORD, name=text(200)),
    ),
    ("POST", "/api/session"): Op(
        "Sign in as a host",
        Access.PUBLIC,
        answer={"host": ref("Host"), "must_change_password": BOOL},
        body=obj("email", "password", email=TEXT, password=TEXT),
    ),
    ("DELETE", "/api/session"): Op("Sign out the host", Access.PUBLIC),
    ("POST", "/api/session/password"): Op(
        "Change the host's password (every other session ends)",
        Access.HOST,
        body=obj("password", "new_password", password=TEXT, new_password=NEW_PASSWORD),
    ),
    # rooms, questions, co-hosts
    ("GET", "/api/rooms"): Op(
        "The rooms the host owns or co-hosts", Access.HOST, answer={"rooms": RECORDS}
    ),
    ("POST", "/api/rooms"): Op(
        "Open a room",
        Access.HOST,
        answer=_ROOM,
        status=(201,),
        body=obj(
            "title",
            title=text(500, required=True),
            password=nullable({"type": "string", "minLength": 1, "maxLength": 64}),
        ),
    ),
    ("GET", "/api/rooms/{room_id}"): Op(
        "A room and its questions, with their tallies",
        Access.HOST,
        answer={**_ROOM, "questions": array(ref("Question"))},
    ),
    ("POST", "/api/rooms/{room_id}/questions"): Op(
        "Add a question (a draft)",
        Access.HOST,
        answer=_QUESTION,
        status=(201,),
        body=_QUESTION_BODY,
    ),
    ("POST", "/api/rooms/{room_id}/order"): Op(
        "Order the room's questions",
        Access.HOST,
        answer={"questions": array(ID)},
        body=obj("questions", questions=array(ID)),
    ),
    ("POST", "/api/rooms/{room_id}/next"): Op(
        "Close the current question and open the next", Access.HOST, answer=_MOVED
    ),
    ("POST", "/api/rooms/{room_id}/previous"): Op(
        "Go back to the previous question", Access.HOST, answer=_MOVED
    ),
    ("POST", "/api/rooms/{room_id}/current"): Op(
        "Show this question on every screen",
        Access.HOST,
        answer=_MOVED,
        body=obj("question", question=nullable(ID)),
    ),
    ("GET", "/api/rooms/{room_id}/summary"): Op(
        "The room's results", Access.HOST, answer={"summary": OBJECT}
    ),
    ("GET", "/api/rooms/{room_id}/export.xlsx"): Op(
        "The room's results as a workbook", Access.HOST, files=(export.XLSX_TYPE,)
    ),
    ("POST", "/api/rooms/{room_id}/site"): Op(
        "Take ballots only from those on site (or from everyone again)",
        Access.HOST,
        answer={"site": BOOL},
        body=obj("required", required=BOOL),
    ),
    ("POST", "/api/rooms/{room_id}/invitations"): Op(
        "Invite a co-host (the owner only)",
        Access.HOST,
        answer={"invitation": obj("token", "url", token=TEXT, url=TEXT)},
        status=(201,),
    ),
    ("GET", "/api/rooms/{room_id}/hosts"): Op(
        "The room's hosts", Access.HOST, answer={"hosts": array(OBJECT), "can_manage": BOOL}
    ),
    ("DELETE", "/api/rooms/{room_id}/hosts/{host_id}"): Op(
        "Remove a co-host (the owner only)", Access.HOST, answer={"hosts": array(OBJECT)}
    ),
    ("POST", "/api/invitations/{token}/accept"): Op(
        "Become a co-host of the invitation's room",
        Access.HOST,
        answer={
            "room": obj("id", "number", "title", id=ID, number=TEXT, title=TEXT),
            "role": one_of(Role),
        },
        params={"token": TEXT},
    ),
    ("PATCH", "/api/questions/{question_id}"): Op(
        "Edit a draft question", Access.HOST, answer=_QUESTION, body=OBJECT
    ),
    ("DELETE", "/api/questions/{question_id}"): Op(
        "Delete a draft question", Access.HOST, answer={"questions": array(ID)}
    ),
    ("POST", "/api/questions/{question_id}/{action}"): Op(
        "Open, close, reveal, hide or reset a question",
        Access.HOST,
        answer=_QUESTION,
        params={"action": one_of(Action)},
    ),
    ("POST", "/api/questions/{question_id}/answers"): Op(
        "Hide open-text answers from the word cloud (or show them again)",
        Access.HOST,
        answer={"hidden": array(TEXT)},
        body=obj("answers", answers=array(TEXT), hidden=BOOL),
    ),
    ("GET", "/api/questions/{question_id}/export.{fmt:str}"): Op(
        "A question's results as CSV or a workbook",
        Access.HOST,
        params={"fmt": one_of(["csv", "xlsx"])},
        files=(CSV, export.XLSX_TYPE),
    ),
    ("GET", "/api/questions/{question_id}/ballots.csv"): Op(
        "A survey's ballots as CSV, one row each", Access.HOST, files=(CSV,)
    ),
    ("POST", "/api/media"): Op(
        "Upload an image (PNG, JPEG, GIF or WebP, 5 MiB at most)",
        Access.HOST,
        answer={"media": obj("path", path=TEXT)},
        status=(201,),
        uploads={
            "multipart/form-data": obj("file", file=BINARY),
            "application/octet-stream": BINARY,
        },
    ),
    # lot drawings (live.web.draws)
    ("GET", "/api/draws"): Op(
        "A room's draws, for its hosts or its presenter link",
        Access.PUBLIC,
        answer={"draws": array(ref("Draw"))},
        query={"room": TEXT, "presenter": TEXT},
    ),
    ("POST", "/api/rooms/{room_id}/draws"): Op(
        "Prepare a draw",
        Access.HOST,
        answer=_DRAW,
        status=(201,),
        body=obj("title", title=TEXT, slots=_SLOTS),
    ),
    ("PATCH", "/api/draws/{draw_id}"): Op(
        "Edit a draft draw", Access.HOST, answer=_DRAW, body=obj(title=TEXT, slots=_SLOTS)
    ),
    ("POST", "/api/draws/{draw_id}/commit"): Op(
        "Commit the draw to its seed", Access.HOST, answer=_DRAW, body=obj(seed=nullable(TEXT))
    ),
    ("POST", "/api/draws/{draw_id}/draw"): Op("Draw the next slot", Access.HOST, answer=_DRAW),
    ("POST", "/api/draws/{draw_id}/reveal"): Op("Reveal the seed", Access.HOST, answer=_DRAW),
    ("GET", "/api/present/{number}/site"): Op(
        "The on-site code a presenter screen shows now",
        Access.PUBLIC,
        answer={"required": BOOL},
        query={"token": TEXT},
        params={"number": TEXT},
    ),
    # citizens (live.web.citizens, live.web.oidc)
    ("POST", "/api/citizens/codes"): Op(
        "Send a one-time code to a number",
        Access.PUBLIC,
        answer={"expires_in": INT},
        status=(202,),
        body=obj("purpose", "phone", purpose=one_of(Purpose), phone=PHONE, password=TEXT),
    ),
    ("POST", "/api/citizens"): Op(
        "Sign up as a citizen (and sign in)",
        Access.PUBLIC,
        answer=_CITIZEN,
        status=(201,),
        body=obj(
            "phone", "code", "password", phone=PHONE, code=CODE, password=NEW_PASSWORD, name=TEXT
        ),
    ),
    ("POST", "/api/citizens/session"): Op(
        "Sign in as a citizen",
        Access.PUBLIC,
        answer=_CITIZEN,
        body=obj("phone", "password", phone=PHONE, password=TEXT),
    ),
    ("DELETE", "/api/citizens/session"): Op("Sign out the citizen", Access.PUBLIC),
    ("POST", "/api/citizens/password"): Op(
        "A new password with a code sent to the number",
        Access.PUBLIC,
        answer=_CITIZEN,
        body=obj("phone", "code", "password", phone=PHONE, code=CODE, password=NEW_PASSWORD),
    ),
    ("POST", "/api/citizens/link"): Op(
        "Link the pending outside sign-in to a number",
        Access.PUBLIC,
        answer=_CITIZEN,
        body=obj("phone", "code", phone=PHONE, code=CODE),
    ),
    ("GET", "/api/citizens/me"): Op("The signed-in citizen", Access.CITIZEN, answer=_CITIZEN),
    ("POST", "/api/citizens/me/phone"): Op(
        "Move the account to the number a change code went to",
        Access.CITIZEN,
        body=obj("phone", "code", phone=PHONE, code=CODE),
    ),
    ("GET", "/api/citizens/me/profile"): Op(
        "What the citizen told of themselves", Access.CITIZEN, answer={"profile": OBJECT}
    ),
    ("PUT", "/api/citizens/me/profile"): Op(
        "Replace the citizen's profile",
        Access.CITIZEN,
        answer={"profile": OBJECT},
        body=obj(
            birth_year=nullable(INT),
            gender=nullable(TEXT),
            district=nullable(TEXT),
            job=nullable(TEXT),
        ),
    ),
    ("GET", "/api/citizens/me/areas"): Op(
        "The areas the citizen sees (null: all)", Access.CITIZEN, answer={"areas": AREAS}
    ),
    ("PUT", "/api/citizens/me/areas"): Op(
        "Choose the areas the citizen sees",
        Access.CITIZEN,
        answer={"areas": AREAS},
        body=obj("areas", areas=AREAS),
    ),
    # polls (live.web.polls)
    ("POST", "/api/polls"): Op(
        "Open a poll",
        Access.ACCOUNT,
        answer=_POLL,
        status=(201,),
        body=obj(
            "title",
            "area",
            "closes_ms",
            "questions",
            kind=one_of(PollKind),
            title=text(polls.MAX_TITLE, required=True),
            description=text(polls.MAX_DESCRIPTION),
            area=one_of(Area),
            visibility=one_of(Visibility),
            opens_ms=MS,
            closes_ms=MS,
            place=nullable(PLACE),
            tags=TAGS,
            image=IMAGE,
            image_alt=text(300),
            target=nullable(OBJECT),
            comments=BOOL,
            questions=array(_POLL_QUESTION_BODY, minItems=1, maxItems=polls.MAX_QUESTIONS),
        ),
    ),
    ("GET", "/api/polls"): Op(
        "Polls newest first, with their badges",
        Access.PUBLIC,
        answer={"polls": array(ref("Poll"))},
        query={
            "area": one_of(Area),
            "status": one_of(PollStatus),
            "q": TEXT,
            "mine": one_of(["1"]),
            "my_areas": one_of(["1"]),
        },
    ),
    ("GET", "/api/polls/near"): Op(
        "The polls near a place, nearest first",
        Access.PUBLIC,
        answer={"polls": array(ref("Poll"))},
        query={"lat": NUMBER, "lon": NUMBER, "radius_km": NUMBER},
    ),
    ("GET", "/api/polls/{poll_id}"): Op("A poll and its questions", Access.PUBLIC, answer=_POLL),
    ("PATCH", "/api/polls/{poll_id}"): Op(
        "Edit a poll's title, description or tags",
        Access.ACCOUNT,
        answer=_POLL,
        body=obj(
            title=text(polls.MAX_TITLE, required=True),
            description=text(polls.MAX_DESCRIPTION),
            tags=TAGS,
        ),
    ),
    ("POST", "/api/polls/{poll_id}/reflection"): Op(
        "How a closed policy poll's result was reflected",
        Access.ACCOUNT,
        answer={"reflection": nullable(OBJECT)},
        body=obj("text", "date", text=TEXT, date={"type": "string", "format": "date"}, link=TEXT),
    ),
    # comments and reports (live.web.comments)
    ("GET", "/api/polls/{poll_id}/comments"): Op(
        "A page of a poll's comments",
        Access.PUBLIC,
        answer={"comments": array(ref("Comment")), "before": nullable(BEFORE)},
        query={"before": BEFORE},
    ),
    ("POST", "/api/polls/{poll_id}/comments"): Op(
        "Comment on a poll (or reply)",
        Access.CITIZEN,
        answer={"comment": ref("Comment")},
        status=(201,),
        body=obj("body", body=COMMENT, parent=nullable(ID)),
    ),
    ("PATCH", "/api/comments/{comment_id}"): Op(
        "Edit one's comment, within minutes",
        Access.CITIZEN,
        answer={"comment": ref("Comment")},
        body=obj("body", body=COMMENT),
    ),
    ("DELETE", "/api/comments/{comment_id}"): Op(
        "Delete one's comment", Access.CITIZEN, answer={"comment": ref("Comment")}
    ),
    ("POST", "/api/reports"): Op(
        "Report a poll or a comment",
        Access.CITIZEN,
        answer={"reported": BOOL},
        status=(201,),
        body=obj(
            "kind",
            "id",
            "reason",
            kind=one_of(Target),
            id=ID,
            reason=one_of(ReportReason),
            note=TEXT,
        ),
    ),
    ("GET", "/api/citizens/me/moderation"): Op(
        "What monitors did to the citizen's polls and comments",
        Access.CITIZEN,
        answer={"actions": array(OBJECT)},
    ),
    # moderation (live.web.moderation, live.web.words)
    ("GET", "/api/moderation/queue"): Op(
        "Reported polls and comments, most reported first",
        Access.MODERATOR,
        answer={"queue": array(OBJECT)},
    ),
    ("POST", "/api/moderation/actions"): Op(
        "Hide, delete, restore or dismiss a reported target",
        Access.MODERATOR,
        answer={
            "kind": one_of(Target),
            "id": ID,
            "action": one_of(ModerationAction),
            "resolved": ANY,
        },
        body=obj(
            "kind",
            "id",
            "action",
            kind=one_of(Target),
            id=ID,
            action=one_of(ModerationAction),
            reason=TEXT,
        ),
    ),
    ("GET", "/api/moderation/log"): Op(
        "The moderation log, newest first",
        Access.MODERATOR,
        answer={"entries": array(OBJECT)},
        query={"before": {"type": "string", "pattern": "^[0-9]{1,12}$"}},
    ),
    ("GET", "/api/moderation/log.csv"): Op(
        "The whole moderation log as CSV", Access.MODERATOR, files=(CSV,)
    ),
    ("GET", "/api/moderation/words"): Op("The listed words", Access.MODERATOR, answer=_LISTED),
    ("POST", "/api/moderation/words"): Op(
        "List prohibited (or allowed) words",
        Access.MODERATOR,
        answer={"added": array(TEXT), **_LISTED},
        status=(200, 201),
        body=_WORDS_BODY,
    ),
    ("DELETE", "/api/moderation/words"): Op(
        "Take words off the list",
        Access.MODERATOR,
        answer={"removed": array(TEXT), **_LISTED},
        body=_WORDS_BODY,
    ),
    # notifications (live.web.notify)
    ("GET", "/api/citizens/me/interests"): Op(
        "What the citizen is notified of", Access.CITIZEN, answer={"interests": OBJECT}
    ),
    ("PUT", "/api/citizens/me/interests"): Op(
        "Choose what the citizen is notified of",
        Access.CITIZEN,
        answer={"interests": OBJECT},
        body=obj(
            areas=AREAS, place=nullable(obj("lat", "lon", lat=NUMBER, lon=NUMBER, radius_m=INT))
        ),
    ),
    ("GET", "/api/citizens/me/notifications"): Op(
        "A page of notifications, newest first",
        Access.CITIZEN,
        answer={"notifications": array(OBJECT), "before": nullable(TEXT), "unread": INT},
        query={"before": TEXT, "limit": {"type": "integer", "minimum": 1}},
    ),
    ("POST", "/api/citizens/me/notifications/{notification_id}/read"): Op(
        "Mark a notification read", Access.CITIZEN, answer={"notification": OBJECT}
    ),
    ("GET", "/api/push/key"): Op(
        "The Web Push public key", Access.PUBLIC, answer={"key": nullable(TEXT)}
    ),
    ("POST", "/api/citizens/me/push"): Op(
        "Subscribe a browser to Web Push",
        Access.CITIZEN,
        answer={"subscription": obj("id", id=ID)},
        status=(201,),
        body=obj(
            "endpoint", "keys", endpoint=TEXT, keys=obj("p256dh", "auth", p256dh=TEXT, auth=TEXT)
        ),
    ),
    ("DELETE", "/api/citizens/me/push"): Op(
        "Forget a browser's subscription",
        Access.CITIZEN,
        answer={"removed": ANY},
        body=obj("endpoint", endpoint=TEXT),
    ),
    # rosters (live.web.rosters)
    ("GET", "/api/rosters"): Op(
        "The host's roster groups", Access.HOST, answer={"groups": array(ref("Group"))}
    ),
    ("POST", "/api/rosters"): Op(
        "A new, empty group", Access.HOST, answer=_GROUP, status=(201,), body=obj("name", name=TEXT)
    ),
    ("GET", "/api/rosters/{group_id}"): Op(
        "A group, a page of its members and its polls",
        Access.HOST,
        answer={**_GROUP, "members": array(ref("Member")), "polls": array(OBJECT)},
        query={
            "offset": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer", "minimum": 1},
        },
    ),
    ("PATCH", "/api/rosters/{group_id}"): Op(
        "Rename a group", Access.HOST, answer=_GROUP, body=obj("name", name=TEXT)
    ),
    ("DELETE", "/api/rosters/{group_id}"): Op("Delete a group", Access.HOST),
    ("POST", "/api/rosters/{group_id}/members"): Op(
        "Add a number to a group",
        Access.HOST,
        answer={"member": ref("Member")},
        status=(201,),
        body=obj("phone", phone=PHONE, name=TEXT),
    ),
    ("POST", "/api/rosters/{group_id}/members/remove"): Op(
        "Take a member off a group", Access.HOST, answer=_GROUP, body=_MEMBER
    ),
    ("POST", "/api/rosters/{group_id}/members/move"): Op(
        "Move a member to another group",
        Access.HOST,
        answer={"member": ref("Member"), **_GROUP, "to": ref("Group")},
        body={**_MEMBER, "required": ["to"], "properties": {**_MEMBER["properties"], "to": ID}},
    ),
    ("POST", "/api/rosters/uploads"): Op(
        "Upload a spreadsheet of numbers (checked by a job)",
        Access.HOST,
        answer=_UPLOAD,
        status=(202,),
        query={"name": TEXT},
        uploads={"application/octet-stream": BINARY},
    ),
    ("GET", "/api/rosters/uploads/{upload_id}"): Op(
        "An upload's state, progress, preview and result", Access.HOST, answer=_UPLOAD
    ),
    ("POST", "/api/rosters/uploads/{upload_id}/confirm"): Op(
        "Save a checked upload into a group",
        Access.HOST,
        answer=_UPLOAD,
        status=(202,),
        body=obj(group=ID, name=TEXT, by_column=TEXT),
    ),
}
