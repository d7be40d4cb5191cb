"""A fault-injecting HTTP proxy in front of an S3 endpoint (moto's ThreadedMotoServer) on 127.0.0.1.

Each request is read whole, then forwarded or answered with a fault. Faults go to a share `rate` of the
requests by a seeded schedule (kinds drawn from `kinds`), to the next request matching a `script` entry (a
method and a regular expression searched in the path and query), and to every request while `down` (set by
hand, or from the request after the one `down_after` names):

- `error500`: 500 InternalError, not forwarded
- `slowdown503`: 503 SlowDown (S3's XML error body), not forwarded
- `drop`: the connection reset before forwarding
- `drop_response`: forwarded (S3 did the work), then the answer cut: headers and half the body, or nothing
- `stall`: not forwarded; the connection held silent for `stall_seconds`, then closed
- `stall_response`: forwarded, then held silent for `stall_seconds` and closed (the answer never comes)

`stall_seconds` must exceed the client's read timeout. The client signs for the proxy's host, which moto does
not check. Requests are numbered in arrival order; `log` keeps (method, path, fault or None) of each.
"""

from __future__ import annotations

import http.client
import random
import re
import socket
import struct
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

KINDS = ("error500", "slowdown503", "drop", "drop_response", "stall", "stall_response")
NOT_FORWARDED = ("error500", "slowdown503", "drop", "stall")  # an endpoint that is down never does the work
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection", "te", "upgrade"}
ERROR_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
    "<RequestId>FAULT{index:06d}</RequestId></Error>"
)


class FaultyS3:
    def __init__(
        self, upstream: str, rate: float = 0.0, seed: int = 0, kinds: tuple[str, ...] = KINDS, stall_seconds: float = 3.0
    ):
        parsed = urlparse(upstream)
        self.upstream = (parsed.hostname, parsed.port)
        self.rate, self.kinds, self.stall_seconds = rate, kinds, stall_seconds
        self.script: list[tuple[str, str, str]] = []  # (method, path regex, fault): the next such request gets it, once
        self.log: list[tuple[str, str, str | None]] = []
        self.down = False  # every request fails, in turn with each of NOT_FORWARDED, and none reaches S3
        self.down_after: tuple[str, str] | None = None  # (method, path regex): down from the request after it
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="faulty-s3", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FaultyS3:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def fault_for(self, method: str, path: str) -> str | None:
        with self._lock:
            draw, kind = self._random.random(), self._random.choice(self.kinds)  # drawn always: a stable schedule
            fault = kind if draw < self.rate else None
            for i, (m, pattern, scripted) in enumerate(self.script):
                if m == method and re.search(pattern, path):
                    fault = scripted
                    del self.script[i]
                    break
            if self.down:
                fault = NOT_FORWARDED[len(self.log) % len(NOT_FORWARDED)]
            elif self.down_after and self.down_after[0] == method and re.search(self.down_after[1], path):
                self.down = True
            self.log.append((method, path, fault))
            return fault

    @property
    def faults(self) -> Counter:
        return Counter(fault for _, _, fault in self.log if fault)

    def requests(self, method: str, path_suffix: str) -> list[str | None]:
        """The fault (or None) of each request of that method whose path ends so, in order."""
        return [f for m, p, f in self.log if m == method and p.split("?")[0].endswith(path_suffix)]


def _handler(proxy: FaultyS3) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
            pass

        def do_GET(self) -> None:
            self._relay()

        do_PUT = do_POST = do_DELETE = do_HEAD = do_GET

        def _relay(self) -> None:
            body = self._request_body()
            fault = proxy.fault_for(self.command, self.path)
            if fault == "drop":
                return self._reset()
            if fault == "stall":
                return self._stall()
            if fault in ("error500", "slowdown503"):
                code, message, status = (
                    ("InternalError", "We encountered an internal error. Please try again.", 500)
                    if fault == "error500"
                    else ("SlowDown", "Please reduce your request rate.", 503)
                )
                error = ERROR_BODY.format(code=code, message=message, index=len(proxy.log)).encode()
                return self._answer(status, [("Content-Type", "application/xml")], error)
            status, headers, answer = self._forward(body)
            if fault == "stall_response":
                return self._stall()
            if fault == "drop_response":
                if answer and self.command != "HEAD":
                    self._head(status, headers, len(answer))
                    self.wfile.write(answer[: len(answer) // 2])
                    self.wfile.flush()
                return self._reset()
            self._answer(status, headers, answer)

        def _request_body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip(), 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                    pass
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
            upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                headers["Content-Length"] = str(len(body))
                if self.command in ("GET", "HEAD") and not body:
                    del headers["Content-Length"]
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                answer = response.read()
                kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
                if self.command != "HEAD":
                    kept = [(k, v) for k, v in kept if k.lower() != "content-length"]
                    kept.append(("Content-Length", str(len(answer))))
                return response.status, kept, answer
            finally:
                upstream.close()

        def _head(self, status: int, headers: list[tuple[str, str]], length: int | None = None) -> None:
            self.send_response_only(status)
            for key, value in headers:
                self.send_header(key, value)
            if length is not None and not any(k.lower() == "content-length" for k, _ in headers):
                self.send_header("Content-Length", str(length))
            self.end_headers()

        def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self._head(status, headers, len(body))
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()

        def _reset(self) -> None:
            """Close with a TCP reset: the client sees the connection drop, not a clean end."""
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True

        def _stall(self) -> None:
            proxy._stopping.wait(proxy.stall_seconds)
            self._reset()

    return Handler
