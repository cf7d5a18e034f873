"""The HTTP surfaces: the JSON API, the host console, the server-rendered pages, exports,
serving uploaded media, security headers and CSRF, Korean and English, the ledger's endpoints.

It may import the rest of ``live`` and ``rooms``; only ``live.app`` and ``live.cli`` import
it, so nothing below the edge depends on how a page looks.
"""
