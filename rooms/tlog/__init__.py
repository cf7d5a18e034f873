"""Transparency-log formats as pure functions: the RFC 9162 Merkle tree, C2SP signed notes,
checkpoints, cosignatures, policies, proofs, the witness protocol's values, log registration.

Nothing voting-specific lives here and it imports nothing outside itself: it could be a
library of its own. ``rooms.ledger`` builds the poll's log from it; ``live`` serves it.
"""
