"""A client's WebSocket frames, split without websockets' parser where that is safe.

Nearly every frame a phone sends is one whole Engine.IO message: final, masked, text,
under 64 KiB (RFC 6455 section 5.2). websockets reads each through a chain of
generators (``Frame.parse``, ``StreamReader.read_exact``) and a ``Frame`` object, about
a fifth of the web process's CPU per ballot in a profile of a burst. ``split`` reads such
frames itself, with websockets' own C ``apply_mask``, and stops at the first frame it
leaves to websockets: a control frame (close, ping, pong), which it hands over whole, or
anything else (fragments, binary, reserved bits, an unmasked frame, one announcing more
than the limit, text that is not UTF-8), where it hands over the rest of the stream for
good. Frames are only ever handed over whole, so websockets' parser always starts at a
frame's first byte and judges what it is given as it would have.
"""

from __future__ import annotations

from websockets.speedups import apply_mask

#: First byte of a final text frame with no reserved bits.
_TEXT = 0x81
#: First byte of a close frame.
CLOSE = 0x88
#: First bytes of final close, ping and pong frames: websockets answers them.
_CONTROL = frozenset((CLOSE, 0x89, 0x8A))

#: What ``split`` stopped at.
MORE = 0  # the end of the bytes, or a frame not yet whole: keep them, read more
CONTROL = 1  # a whole control frame at ``end``: hand ``data[end:next_end]`` over
OTHER = 2  # a frame this does not read: hand everything from ``end`` over, for good


def split(data: bytes, limit: int) -> tuple[list[str], int, int, int]:
    """``(texts, end, stop, next_end)``: the texts of the whole final text frames at the
    start of ``data``; where they end; why reading stopped (``MORE``, ``CONTROL`` or
    ``OTHER``); and for ``CONTROL``, where the control frame ends."""
    texts: list[str] = []
    pos, size = 0, len(data)
    while size - pos >= 2:
        first, second = data[pos], data[pos + 1]
        length = second & 0x7F
        if length < 126:
            head = 6
        elif length == 126:
            if size - pos < 4:
                return texts, pos, MORE, pos
            length = (data[pos + 2] << 8) | data[pos + 3]
            head = 8
        else:  # a 64-bit length: over any limit this reader is used with
            return texts, pos, OTHER, pos
        if not second & 0x80 or length > limit:  # unmasked, or too big: websockets closes
            return texts, pos, OTHER, pos
        end = pos + head + length
        if end > size:
            return texts, pos, MORE, pos
        if first == _TEXT:
            payload = apply_mask(data[pos + head : end], data[pos + head - 4 : pos + head])
            try:
                texts.append(payload.decode())
            except UnicodeDecodeError:  # websockets closes with 1007
                return texts, pos, OTHER, pos
            pos = end
        elif first in _CONTROL:
            return texts, pos, CONTROL, end
        else:
            return texts, pos, OTHER, pos
    return texts, pos, MORE, pos
