"""The voting domain as plain Python: no I/O, no web framework, no Redis, no SQL.

Questions, visibility, ballots, identity, the live protocol's requests, agenda, co-hosts,
media, errors, the poll ledger's entries and verdict, log export; ``rooms.tlog`` holds the
transparency-log formats they build on. ``live`` imports ``rooms``; never the reverse.
"""
