"""Every Redis key and channel name, under one prefix.

On a Redis Cluster a script (or any command of several keys) may only touch keys of one
hash slot. Keys of one question share the hash tag ``{q:<id>}``, so the cast, snapshot
and transition scripts run there; the room hash and its question list share
``{r:<room id>}``, so a reorder replaces the list atomically. Nothing touches a room's
keys and a question's keys in one step. The counters of failed attempts of one kind
(joins, say) share ``{lim:<kind>}``: they all live on one node of a cluster, which their
small load allows. The prefix holds no braces (a brace there would
make it the hash tag of every key).
"""

from __future__ import annotations


class Keys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    # one room: all under the same hash tag
    def _r(self, room_id: str, part: str) -> str:
        return f"{self.prefix}{{r:{room_id}}}:{part}"

    def room(self, room_id: str) -> str:
        """Hash: id, number, title, password, key, presenter, owner, current."""
        return self._r(room_id, "meta")

    def room_questions(self, room_id: str) -> str:
        """List of the room's question ids, in order."""
        return self._r(room_id, "questions")

    def room_number(self, number: str) -> str:
        """Active room number -> room id (unique while the room is active)."""
        return f"{self.prefix}roomnum:{number}"

    def audience(self, room_id: str) -> str:
        """Hash: ``n:<node>`` -> "<attendees connected there> <expiry, ms>", and ``version``
        (``live.audience``)."""
        return self._r(room_id, "audience")

    def audience_tick(self, room_id: str) -> str:
        """Lock that spaces two announcements of a room's audience by the interval."""
        return self._r(room_id, "audience_tick")

    def poll(self, poll_id: str) -> str:
        """Hash: room (the poll's room id), number (its room number, never joined by)."""
        return f"{self.prefix}poll:{poll_id}"

    def polls_near(self) -> str:
        """Geo set: every poll with a place that is not closed (``GEOSEARCH`` for "near me")."""
        return f"{self.prefix}polls:near"

    def deadlines(self) -> str:
        """Sorted set: "<question id>|<log id>" of each open question that closes itself,
        scored by when (ms); the minute's sweep closes those whose job was lost."""
        return f"{self.prefix}deadlines"

    def notify_languages(self) -> str:
        """Hash: citizen id -> the language their notifications are written in
        (``live.notify.languages``)."""
        return f"{self.prefix}notify:langs"

    def polls_hot(self) -> str:
        """Sorted set: the "Hot" polls of the last day, scored by their ballots (a job
        writes it once a day)."""
        return f"{self.prefix}polls:hot"

    def jobs(self) -> str:
        """The name of the arq queue of scheduled jobs (``live.jobs``)."""
        return f"{self.prefix}arq:queue"

    # one question: all under the same hash tag
    def _q(self, question_id: str, part: str) -> str:
        return f"{self.prefix}{{q:{question_id}}}:{part}"

    def question(self, question_id: str) -> str:
        """Hash: status, revealed, n, max, kind, room, version, def (public JSON), log (its
        ledger log id, once opened), verification (JSON, once its closed log is judged)."""
        return self._q(question_id, "meta")

    def voters(self, question_id: str) -> str:
        return self._q(question_id, "voters")

    def tally(self, question_id: str) -> str:
        """Hash: option index -> count, and ``total``."""
        return self._q(question_id, "tally")

    def stream(self, question_id: str) -> str:
        return self._q(question_id, "ballots")

    def cast(self, question_id: str) -> list[str]:
        """The keys of ``lua/cast.lua``, in its order."""
        return [
            self.question(question_id),
            self.voters(question_id),
            self.tally(question_id),
            self.stream(question_id),
            self.networks(question_id),
            self.words(question_id),
            self.roster(question_id),
        ]

    def words(self, question_id: str) -> str:
        """Sorted set: an open-text question's normalised answers, each scored minus its
        count, so that a range reads the most given first, ties A to Z (its tally hash
        holds only ``total``)."""
        return self._q(question_id, "words")

    def hidden(self, question_id: str) -> str:
        """Set: the answers a host hid from an open-text question's cloud."""
        return self._q(question_id, "hidden")

    def tick(self, question_id: str) -> str:
        """Lock that spaces two tally snapshots of a question by the interval."""
        return self._q(question_id, "tick")

    def dead_letter(self, question_id: str) -> str:
        return self._q(question_id, "dead")

    def networks(self, question_id: str) -> str:
        """Hash: ``<log id>|<network reference>`` -> ballots cast on the question from that
        client network (``live.cast``); the log id starts the count again after a reset."""
        return self._q(question_id, "networks")

    def roster(self, question_id: str) -> str:
        """Set: the phone references (``rooms.citizens.phones``) of the roster a targeted
        poll's question takes ballots from, a copy of its roster groups kept in the
        question's hash slot so that the cast script checks membership atomically."""
        return self._q(question_id, "roster")

    # a roster's upload (``live.rosters.imports``): its keys share the hash tag ``{ru:<id>}``
    def roster_upload(self, upload_id: str) -> str:
        """Hash: host, kind, state, done, total, error, preview, result (expires)."""
        return f"{self.prefix}{{ru:{upload_id}}}:meta"

    def roster_upload_file(self, upload_id: str) -> str:
        """The uploaded file, encrypted, until the import job has read it (expires)."""
        return f"{self.prefix}{{ru:{upload_id}}}:file"

    def roster_upload_rows(self, upload_id: str) -> str:
        """The checked rows as JSON, each a phone reference, a name and a group (expires)."""
        return f"{self.prefix}{{ru:{upload_id}}}:rows"

    def roster_lock(self, host_id: str) -> str:
        """Held while a host's roster groups change and their polls' roster sets follow."""
        return f"{self.prefix}rosterlock:{host_id}"

    def ledger_lease(self, question_id: str) -> str:
        """The worker that appends the question's ballots to its log (one at a time)."""
        return self._q(question_id, "lease")

    # one lot drawing (``live.draws``): its keys share the hash tag ``{d:<id>}``, so that
    # ``lua/draw.lua`` changes them at once; the room's list of draws is the room's
    def draw(self, draw_id: str) -> str:
        """Hash: room, state, version, def (title and slots, JSON), slots (their number),
        and once committed seed (secret until revealed), commitment, log, committed_ms,
        revealed_ms, and beacon once the witnesses cosigned the commitment; ``s<slot>`` for
        each slot drawn."""
        return f"{self.prefix}{{d:{draw_id}}}:meta"

    def draw_picks(self, draw_id: str) -> str:
        """List: each draw's ``<slot>:<ms>``, in draw order."""
        return f"{self.prefix}{{d:{draw_id}}}:picks"

    def room_draws(self, room_id: str) -> str:
        """List of the room's draw ids, in the order they were made."""
        return self._r(room_id, "draws")

    # accounts' sessions: an account's keys share the hash tag ``{<kind>:<id>}`` (``h`` for
    # a host, ``c`` for a citizen: ``live.sessions``)
    def session(self, tag: str, account_id: str, session_id: str) -> str:
        """A signed-in session of the account: the account's session generation when it
        began (expires with the session)."""
        return f"{self.prefix}{{{tag}:{account_id}}}:session:{session_id}"

    def generation(self, tag: str, account_id: str) -> str:
        """Counter: raising it ends every session of the account begun before."""
        return f"{self.prefix}{{{tag}:{account_id}}}:generation"

    def facts(self, tag: str, account_id: str) -> str:
        """JSON: the account's facts as the cast script reads them (``live.eligibility``),
        kept beside its sessions so that a join reads them with its session check."""
        return f"{self.prefix}{{{tag}:{account_id}}}:facts"

    # one-time codes: one number's keys for one purpose share the hash tag ``{code:<ref>}``
    def code(self, phone_ref: str, purpose: str) -> list[str]:
        """The keys of ``lua/code.lua``: the code waiting (its digest), the failed checks."""
        return [
            f"{self.prefix}{{code:{phone_ref}}}:{purpose}:waiting",
            f"{self.prefix}{{code:{phone_ref}}}:{purpose}:failures",
        ]

    # failed attempts (``live.limits``): one hash tag per kind of attempt, so that one
    # script counts an attempt against all its subjects (a client address, a room) at once
    def limit(self, kind: str, subject: str) -> str:
        """Hash: n (failures in the current window), until (ms: locked until then)."""
        return f"{self.prefix}{{lim:{kind}}}:{subject}"

    # processes (``live.health``)
    def heartbeat(self, kind: str, name: str) -> str:
        """JSON {at_ms, passes, pid} of a live process of ``kind``; expires when it stops."""
        return f"{self.prefix}health:{kind}:{name}"

    # archive worker
    def archiving(self) -> str:
        """Set of question ids whose ballot streams the worker drains."""
        return f"{self.prefix}archive:questions"

    def notified(self, poll_id: str) -> str:
        """Set once the poll's notifications all went out (``live.notify.fanout``)."""
        return f"{self.prefix}notified:{poll_id}"

    def words_version(self) -> str:
        """Counter, raised on each change of the prohibited words (``live.moderation.words``):
        a node whose cached list is of another version reads it again."""
        return f"{self.prefix}words:version"

    # fan-out between web nodes
    def events(self) -> str:
        return f"{self.prefix}events"


ARCHIVE_GROUP = "archive"
