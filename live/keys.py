"""Every Redis key and channel name, under one prefix.

Keys of one question share the hash tag ``{q:<id>}`` so that the cast script, which
touches several of them atomically, runs on a Redis Cluster too.
"""

from __future__ import annotations


class Keys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    # rooms
    def room(self, room_id: str) -> str:
        return f"{self.prefix}room:{room_id}"

    def room_number(self, number: str) -> str:
        """Active room number -> room id (unique while the room is active)."""
        return f"{self.prefix}roomnum:{number}"

    def room_questions(self, room_id: str) -> str:
        """List of the room's question ids, in order."""
        return f"{self.prefix}room:{room_id}:questions"

    def room_questions_staging(self, room_id: str) -> str:
        """Where a new order of the list is built before it is renamed into place."""
        return f"{self.prefix}room:{room_id}:questions:staging"

    # one question: all under the same hash tag
    def _q(self, question_id: str, part: str) -> str:
        return f"{self.prefix}{{q:{question_id}}}:{part}"

    def question(self, question_id: str) -> str:
        """Hash: status, revealed, n, max, room, version, def (public JSON)."""
        return self._q(question_id, "meta")

    def voters(self, question_id: str) -> str:
        return self._q(question_id, "voters")

    def tally(self, question_id: str) -> str:
        """Hash: option index -> count, and ``total``."""
        return self._q(question_id, "tally")

    def stream(self, question_id: str) -> str:
        return self._q(question_id, "ballots")

    def tick(self, question_id: str) -> str:
        """Lock that spaces two tally snapshots of a question by the interval."""
        return self._q(question_id, "tick")

    def dead_letter(self, question_id: str) -> str:
        return self._q(question_id, "dead")

    # archive worker
    def archiving(self) -> str:
        """Set of question ids whose ballot streams the worker drains."""
        return f"{self.prefix}archive:questions"

    # fan-out between web nodes
    def events(self) -> str:
        return f"{self.prefix}events"


ARCHIVE_GROUP = "archive"
