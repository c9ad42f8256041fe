"""A passive reader of one direction of a WebSocket stream (RFC 6455, with RFC 7692 permessage-deflate): bytes in,
complete text messages out. It never writes: the proxy relays the bytes unchanged and reads a copy.

Why not a WebSocket library: those are endpoints (they answer pings, close, negotiate); an observer in the middle
must only read, both masked (client) and unmasked (server) frames, with whatever the two ends negotiated.
"""

from __future__ import annotations

import zlib

__all__ = ["FrameReader", "deflate_params"]

MAX_MESSAGE = 16 * 1024 * 1024


def deflate_params(extensions_header: str | None, *, from_server: bool) -> tuple[bool, bool]:
    """(compressed, reset the context after each message) for one direction, from the 101's
    ``Sec-WebSocket-Extensions``."""
    if not extensions_header or "permessage-deflate" not in extensions_header:
        return False, False
    params = {p.strip().split("=")[0] for p in extensions_header.split(";")}
    side = "server_no_context_takeover" if from_server else "client_no_context_takeover"
    return True, side in params


class FrameReader:
    """Feed bytes with :meth:`feed`; it returns the text messages completed by them. Binary messages and control
    frames are skipped; a message over ``MAX_MESSAGE`` is dropped (the stream goes on)."""

    def __init__(self, *, compressed: bool = False, no_context_takeover: bool = False) -> None:
        self.compressed = compressed
        self.no_context_takeover = no_context_takeover
        self._buffer = bytearray()
        self._parts: list[bytes] = []
        self._size = 0
        self._opcode = 0
        self._deflated = False
        self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        self.broken = False

    def feed(self, data: bytes) -> list[str]:
        if self.broken:
            return []
        self._buffer += data
        messages: list[str] = []
        while True:
            frame = self._next_frame()
            if frame is None:
                return messages
            fin, rsv1, opcode, payload = frame
            if opcode >= 8:  # close, ping, pong
                continue
            if opcode != 0:  # the first frame of a message
                self._opcode, self._deflated, self._parts, self._size = opcode, rsv1, [], 0
            self._size += len(payload)
            if self._size <= MAX_MESSAGE:
                self._parts.append(payload)
            if fin:
                message = self._finish()
                if message is not None:
                    messages.append(message)

    def _next_frame(self) -> tuple[bool, bool, int, bytes] | None:
        buffer = self._buffer
        if len(buffer) < 2:
            return None
        first, second = buffer[0], buffer[1]
        length, offset = second & 0x7F, 2
        if length == 126:
            if len(buffer) < 4:
                return None
            length, offset = int.from_bytes(buffer[2:4], "big"), 4
        elif length == 127:
            if len(buffer) < 10:
                return None
            length, offset = int.from_bytes(buffer[2:10], "big"), 10
        masked = bool(second & 0x80)
        key = b""
        if masked:
            if len(buffer) < offset + 4:
                return None
            key, offset = bytes(buffer[offset : offset + 4]), offset + 4
        if length > 4 * MAX_MESSAGE:
            self.broken = True  # not a stream this reader can follow; the relay goes on regardless
            return None
        if len(buffer) < offset + length:
            return None
        payload = bytes(buffer[offset : offset + length])
        del buffer[: offset + length]
        if masked and length:
            mask = (key * (length // 4 + 1))[:length]
            payload = (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(length, "big")
        return bool(first & 0x80), bool(first & 0x40), first & 0x0F, payload

    def _finish(self) -> str | None:
        data = b"".join(self._parts)
        too_big = self._size > MAX_MESSAGE
        self._parts, self._size = [], 0
        if self._deflated and self.compressed:
            try:
                data = self._inflater.decompress(data + b"\x00\x00\xff\xff", MAX_MESSAGE)
            except zlib.error:
                self.broken = True
                return None
            if self.no_context_takeover:
                self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        if too_big or self._opcode != 1:
            return None
        return data.decode("utf-8", "replace")
