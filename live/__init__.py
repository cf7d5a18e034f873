"""The running system: settings, services, keys, store, the cast path, broadcaster, fan-out,
socket handlers, the archive worker; the app factory and the command line on top.

Packages by concept: ``wire`` (our Socket.IO path), ``web`` (HTTP surfaces), ``ledger``
(the log, witnesses, receipts), ``engines`` (Valkey, SQL, owned processes). ``live``
imports ``rooms``, never the reverse; nothing but ``app`` and ``cli`` imports ``web``, and
nothing imports ``cli`` (``tests/test_imports.py`` holds every rule; docs/architecture.md).
"""
