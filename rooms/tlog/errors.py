"""Refusals of the integrity ledger: a proof, note, checkpoint, receipt or policy we reject.

These are not voting refusals (``rooms.errors.VotingError``): they say that an artefact of
the transparency log is malformed or does not verify, so a voter's receipt, a witness's
cosignature or a log's checkpoint must not be trusted. The tree::

    LedgerError                 -- root: a ledger artefact was refused
     ├── ProofError             -- a Merkle inclusion or consistency proof does not verify
     ├── NoteError              -- a signed note was refused (c2sp.org/signed-note)
     │    ├── MalformedNoteError   -- not the note syntax (UTF-8, controls, blank line, lines)
     │    ├── NoteKeyError         -- a key name, vkey or skey is malformed or ambiguous
     │    ├── BadSignatureError    -- a known key's signature does not verify
     │    ├── UnverifiedNoteError  -- no signature from a known key (in notes: it
     │    │                           carries the note, so this module imports nothing)
     │    └── CheckpointError      -- the note text is not a c2sp.org/tlog-checkpoint
     ├── TlogProofError         -- not a c2sp.org/tlog-proof (its proof failing: ProofError)
     ├── PolicyError            -- not a c2sp.org/tlog-policy file
     └── QuorumError            -- a checkpoint lacks the cosignatures its policy requires
"""

from __future__ import annotations


class LedgerError(Exception):
    """A ledger artefact was refused; ``str(error)`` says why."""


class ProofError(LedgerError):
    """A Merkle inclusion or consistency proof does not verify (RFC 9162 section 2.1.3-4)."""


class NoteError(LedgerError):
    """A signed note was refused."""


class MalformedNoteError(NoteError):
    """The bytes are not a signed note: bad UTF-8, a control character, no blank line..."""


class NoteKeyError(NoteError):
    """A key name, verifier key or signer key is malformed, or two keys share a name and ID."""


class BadSignatureError(NoteError):
    """A signature line names a known key, but the signature does not verify."""


class CheckpointError(NoteError):
    """The note text is not a checkpoint, or not the checkpoint that was expected."""


class TlogProofError(LedgerError):
    """The bytes are not a tlog-proof (a proof that does not verify raises ProofError)."""


class PolicyError(LedgerError):
    """The bytes are not a tlog-policy file."""


class QuorumError(LedgerError):
    """A checkpoint is validly signed by the log but lacks the witnesses' quorum."""
