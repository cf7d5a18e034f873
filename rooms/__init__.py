"""The voting domain as plain Python: no I/O, no web framework, no Redis, no SQL.

``live`` imports ``rooms``; never the reverse.
"""
