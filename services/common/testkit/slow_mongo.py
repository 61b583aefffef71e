"""A TCP proxy in front of the test database that answers chosen commands late: a database busy
elsewhere, seen by a real driver over a real socket (no mock of our code).

The proxy reads the MongoDB wire protocol just enough to know which command a request carries
(OP_MSG: the first key of the body document, and its collection) and holds the reply to the next
N matching requests ``delay_s`` seconds. The command itself reaches the database at once, so a
write lands while its acknowledgement comes too late: the caller must treat asking again as safe.

    with SlowMongo(mongo_uri) as proxy:
        client = MongoClient(proxy.uri, socketTimeoutMS=300, ...)
        proxy.slow("update", "usage_records", times=2, delay_s=1.0)
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from dataclasses import dataclass
from typing import Self
from urllib.parse import urlsplit

import bson

OP_MSG = 2013


@dataclass
class _Rule:
    command: str
    collection: str
    left: int
    delay_s: float


class SlowMongo:
    def __init__(self, upstream_uri: str) -> None:
        parts = urlsplit(upstream_uri)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 27017)
        self._credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        self._query = parts.query
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.delayed: list[tuple[str, str]] = []  # (command, collection) of each reply held back

    @property
    def uri(self) -> str:
        port = self._listener.getsockname()[1]
        query = f"?{self._query}&directConnection=true" if self._query else "?directConnection=true"
        return f"mongodb://{self._credentials}127.0.0.1:{port}/{query}"

    def slow(self, command: str, collection: str, *, times: int, delay_s: float) -> None:
        """Hold the replies to the next ``times`` ``command`` requests on ``collection``."""
        with self._lock:
            self._rules.append(_Rule(command, collection, times, delay_s))

    def start(self) -> Self:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._closed.set()
        self._listener.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._upstream)
            held: dict[int, float] = {}  # request id -> seconds its reply is held
            threading.Thread(target=self._requests, args=(client, server, held), daemon=True).start()
            threading.Thread(target=self._replies, args=(server, client, held), daemon=True).start()

    def _requests(self, src: socket.socket, dst: socket.socket, held: dict[int, float]) -> None:
        try:
            while (message := _read_message(src)) is not None:
                request_id, op_code = (
                    struct.unpack_from("<iiii", message)[1],
                    struct.unpack_from("<i", message, 12)[0],
                )
                delay = self._match(message) if op_code == OP_MSG else None
                if delay is not None:
                    held[request_id] = delay
                dst.sendall(message)
        except OSError:
            pass
        finally:
            _close(src, dst)

    def _replies(self, src: socket.socket, dst: socket.socket, held: dict[int, float]) -> None:
        try:
            while (message := _read_message(src)) is not None:
                response_to = struct.unpack_from("<i", message, 8)[0]
                delay = held.pop(response_to, None)
                if delay is not None and self._closed.wait(delay):
                    return
                dst.sendall(message)
        except OSError:
            pass
        finally:
            _close(src, dst)

    def _match(self, message: bytes) -> float | None:
        body = _command(message)
        if not body:
            return None
        command = next(iter(body))
        collection = body[command] if isinstance(body[command], str) else ""
        with self._lock:
            for rule in self._rules:
                if rule.left > 0 and rule.command == command and rule.collection == collection:
                    rule.left -= 1
                    self.delayed.append((command, collection))
                    return rule.delay_s
        return None


def _read_exactly(sock: socket.socket, n: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def _read_message(sock: socket.socket) -> bytes | None:
    header = _read_exactly(sock, 4)
    if header is None:
        return None
    (length,) = struct.unpack("<i", header)
    rest = _read_exactly(sock, length - 4)
    return None if rest is None else header + rest


def _command(message: bytes) -> dict:
    """The body document of an OP_MSG (section kind 0), or {} when there is none."""
    offset = 16 + 4  # header, flag bits
    if len(message) <= offset or message[offset] != 0:
        return {}
    (size,) = struct.unpack_from("<i", message, offset + 1)
    try:
        return bson.decode(message[offset + 1 : offset + 1 + size])
    except Exception:
        return {}


def _close(*socks: socket.socket) -> None:
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.close()
