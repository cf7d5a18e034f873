"""The lean Socket.IO path under python-socketio: the Engine.IO websocket transport, frames
encoded once, delivery to a node's watchers, the client manager, uvicorn's websocket
protocol cut down and its HTTP protocol with limits on request headers and connections,
the queue and event each connection uses, and the count of clients refused for breaking
the protocol.

It knows the wire, not the vote: it imports only itself (and the standard and socket
libraries), and any part of ``live`` may import it.
"""
