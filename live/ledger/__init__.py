"""The integrity ledger as a running service: the log the archive worker keeps for each
poll, the witness process and its client, witnesses on this machine, the receipt check.

The formats themselves are pure, in ``rooms.tlog``. This package may import the core of
``live``, ``engines`` and ``rooms``; never ``web`` or ``cli``.
"""
