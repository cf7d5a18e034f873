"""Trust policies (https://c2sp.org/tlog-policy): the logs, the witnesses, and the quorum.

A policy file is lines of items separated by spaces and tabs ("Structure")::

    log <vkey> [<url>]                    a log whose checkpoints are accepted
    witness <name> <vkey> [<url>]         a witness, by a name local to the file
    group <name> all|any|<k> <name>...    witnessed when k of its members witnessed
    quorum <name>                         the witness or group that must witness; or "none"

Blank lines and lines starting with ``#`` (after optional whitespace) are ignored. A group
or the quorum may only name witnesses and groups defined on earlier lines; witnesses and
groups share one namespace, where ``none`` is predefined and may not be a member. A group
lists each member once, with 1 <= k <= n. Exactly one quorum line. No two logs, and no two
witnesses, may wrap the same public key. Octets 0x09, 0x0A, 0x20-0x7E and 0x80-0xFF only;
non-ASCII octets are opaque, so names compare as octet strings ("Character set").

Choices where the spec is open or other readers differ:

- log keys must be Ed25519 note keys (vkey type 0x01) and witness keys cosignature/v1
  keys (type 0x04), the types "appropriate to their function". transparency-dev/formats
  also turns a type-0x01 witness vkey into a cosignature key, and accepts two witnesses
  with one key and a ``#`` comment after a line's items; we refuse all three;
- a last line without its newline is read as a line (as sigsum-go and formats do);
- a numeric threshold is ASCII decimal without leading zeroes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rooms.tlog._text import decode_decimal
from rooms.tlog.checkpoint import SignedCheckpoint, open_checkpoint
from rooms.tlog.cosignature import CosignatureVerifier
from rooms.tlog.errors import CheckpointError, NoteKeyError, PolicyError, QuorumError
from rooms.tlog.notes import Ed25519Verifier, NoteVerifier

#: The predefined name of the empty quorum: no cosignature needed.
NONE = "none"

_ALLOWED_OCTETS = re.compile(rb"[^\x09\x0a\x20-\x7e\x80-\xff]")
_SPACES = re.compile(r"[ \t]+")


@dataclass(frozen=True, slots=True)
class PolicyLog:
    """A log whose checkpoints the policy accepts (its key name is its origin)."""

    verifier: Ed25519Verifier
    url: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyWitness:
    """A witness, named for use in groups and the quorum."""

    name: str
    verifier: CosignatureVerifier
    url: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyGroup:
    """Witnessed when at least ``threshold`` of its members (witnesses or groups) are."""

    name: str
    threshold: int
    members: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed or built policy; built ones are checked by the same rules as files."""

    logs: tuple[PolicyLog, ...]
    witnesses: tuple[PolicyWitness, ...]
    groups: tuple[PolicyGroup, ...]
    quorum: str

    def __post_init__(self) -> None:
        rules = _Rules()
        for log in self.logs:
            rules.log(log)
        for witness in self.witnesses:
            rules.witness(witness)
        for group in self.groups:
            rules.group(group)
        rules.quorum(self.quorum)

    @classmethod
    def parse(cls, data: bytes) -> Policy:
        """Read a policy file; raises ``PolicyError`` naming the first bad line."""
        lines = data.split(b"\n")
        if lines[-1] == b"":
            lines.pop()
        rules = _Rules()
        for number, raw in enumerate(lines, start=1):
            try:
                _read_line(raw, rules)
            except PolicyError as error:
                raise PolicyError(f"line {number}: {error}") from None
        if rules.quorum_name is None:
            raise PolicyError("a policy has a quorum line")
        return cls(
            tuple(rules.logs), tuple(rules.witnesses), tuple(rules.groups), rules.quorum_name
        )

    def to_bytes(self) -> bytes:
        """The policy file: logs, witnesses, groups in order, then the quorum."""
        lines = [_items("log", log.verifier.vkey(), log.url) for log in self.logs]
        lines += [_items("witness", w.name, w.verifier.vkey(), w.url) for w in self.witnesses]
        lines += [_items("group", g.name, str(g.threshold), *g.members) for g in self.groups]
        lines.append(_items("quorum", self.quorum))
        return "".join(line + "\n" for line in lines).encode("utf-8", "surrogateescape")

    def witnessed(self, cosigners: Iterable[str]) -> bool:
        """Whether the witnesses named in ``cosigners`` satisfy the quorum."""
        cosigned = set(cosigners)
        done = {witness.name: witness.name in cosigned for witness in self.witnesses}
        done[NONE] = True
        for group in self.groups:  # each group names only earlier ones
            count = sum(done.get(member, False) for member in group.members)
            done[group.name] = count >= group.threshold
        return done.get(self.quorum, False)

    def cosigners(self, signed: SignedCheckpoint) -> tuple[str, ...]:
        """The policy's names of the witnesses whose cosignatures verified, each once (a
        witness asked again adds a cosignature of another time)."""
        names = {(w.verifier.name, w.verifier.key_id): w.name for w in self.witnesses}
        return tuple(dict.fromkeys(names[(s.name, s.key_id)] for s in signed.cosignatures))

    def open_checkpoint(
        self, message: bytes, logs: Iterable[NoteVerifier] = ()
    ) -> SignedCheckpoint:
        """Verify a checkpoint: signed by a log (the policy's or ``logs``), then the quorum.

        The log key's name must be the checkpoint's origin ("Defining a log"). Raises what
        ``rooms.tlog.checkpoint.open_checkpoint`` raises, ``CheckpointError`` if no log key named
        as the origin signed, then ``QuorumError`` if the witnesses whose cosignatures
        verified do not satisfy the quorum.
        """
        signed = open_checkpoint(
            message,
            [*(log.verifier for log in self.logs), *logs],
            [w.verifier for w in self.witnesses],
        )
        origin = signed.checkpoint.origin
        if all(s.name != origin for s in signed.log_signatures):  # "Defining a log"
            raise CheckpointError(f"no log key named {origin!r} signed its checkpoint")
        cosigners = self.cosigners(signed)
        if not self.witnessed(cosigners):
            raise QuorumError(f"the quorum {self.quorum!r} is not met by {sorted(cosigners)}")
        return signed


class _Rules:
    """Checks definitions in file order and collects them."""

    def __init__(self) -> None:
        self.logs: list[PolicyLog] = []
        self.witnesses: list[PolicyWitness] = []
        self.groups: list[PolicyGroup] = []
        self.quorum_name: str | None = None
        self.names: set[str] = set()

    def log(self, log: PolicyLog) -> None:
        _check_word(log.url, "URL")
        if any(log.verifier.public_key == other.verifier.public_key for other in self.logs):
            raise PolicyError(f"two logs have the key of {log.verifier.vkey()}")
        self.logs.append(log)

    def witness(self, witness: PolicyWitness) -> None:
        self._define(witness.name)
        _check_word(witness.url, "URL")
        key = witness.verifier.public_key
        if any(key == other.verifier.public_key for other in self.witnesses):
            raise PolicyError(f"two witnesses have the key of {witness.verifier.vkey()}")
        self.witnesses.append(witness)

    def group(self, group: PolicyGroup) -> None:
        for member in group.members:
            if member not in self.names:
                raise PolicyError(f"group {group.name!r}: {member!r} is not defined before it")
        if len(set(group.members)) != len(group.members):
            raise PolicyError(f"group {group.name!r} lists a member twice")
        if not 1 <= group.threshold <= len(group.members):
            raise PolicyError(f"group {group.name!r} needs 1 <= k <= {len(group.members)}")
        self._define(group.name)
        self.groups.append(group)

    def quorum(self, name: str) -> None:
        if self.quorum_name is not None:
            raise PolicyError("a policy has one quorum line")
        if name != NONE and name not in self.names:
            raise PolicyError(f"the quorum {name!r} is not defined before it")
        self.quorum_name = name

    def _define(self, name: str) -> None:
        _check_word(name, "name")
        if name == NONE or name in self.names:
            raise PolicyError(f"the name {name!r} is taken")
        self.names.add(name)


def _read_line(raw: bytes, rules: _Rules) -> None:
    bad = _ALLOWED_OCTETS.search(raw)
    if bad:
        raise PolicyError(f"octet 0x{bad.group()[0]:02x} is not allowed")
    items = _SPACES.split(raw.decode("utf-8", "surrogateescape").strip(" \t"))
    keyword, arguments = items[0], items[1:]
    if keyword == "" or keyword.startswith("#"):
        return
    try:
        if keyword == "log" and len(arguments) in (1, 2):
            rules.log(PolicyLog(Ed25519Verifier.from_vkey(arguments[0]), *arguments[1:]))
        elif keyword == "witness" and len(arguments) in (2, 3):
            verifier = CosignatureVerifier.from_vkey(arguments[1])
            rules.witness(PolicyWitness(arguments[0], verifier, *arguments[2:]))
        elif keyword == "group" and len(arguments) >= 3:
            name, threshold, *members = arguments
            rules.group(PolicyGroup(name, _threshold(threshold, len(members)), tuple(members)))
        elif keyword == "quorum" and len(arguments) == 1:
            rules.quorum(arguments[0])
        else:
            raise PolicyError(f"not a log, witness, group or quorum line: {keyword!r} ...")
    except NoteKeyError as error:
        raise PolicyError(str(error)) from None


def _threshold(text: str, members: int) -> int:
    if text == "all":
        return members
    if text == "any":
        return 1
    value = decode_decimal(text)
    if value is None:
        raise PolicyError(f"a threshold is all, any or a decimal number: {text!r}")
    return value


def _check_word(word: str | None, what: str) -> None:
    """Names and URLs are non-empty runs of allowed octets other than space and tab."""
    if word is None:
        return
    try:
        encoded = word.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        encoded = b""
    if not encoded or _ALLOWED_OCTETS.search(encoded) or re.search(rb"[ \t\n]", encoded):
        raise PolicyError(f"not a {what} in a policy file: {word!r}")


def _items(*items: str | None) -> str:
    return " ".join(item for item in items if item is not None)
