"""An HTTP server on loopback that takes Sentry envelopes: the stand-in for sentry.io.

sentry-sdk POSTs each envelope to ``/api/<project>/envelope/``, gzip- or
brotli-compressed: a JSON header line, then per item a JSON header line and a
payload (``length`` bytes when the header gives it, else up to the newline).
The inbox keeps every envelope's decompressed bytes and parsed events.
"""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.server import free_port

Item = tuple[dict[str, Any], bytes]


def decompress(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "br":
        import brotli  # sentry-sdk compresses with it when the project's venv has it

        return bytes(brotli.decompress(body))
    if encoding in ("", "identity"):
        return body
    raise AssertionError(f"unknown Content-Encoding {encoding!r}")


def parse_envelope(data: bytes) -> tuple[dict[str, Any], list[Item]]:
    """The envelope's header and its items, each an (item header, payload) pair."""
    header_line, _, rest = data.partition(b"\n")
    items: list[Item] = []
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        item_header = json.loads(item_line)
        if "length" in item_header:
            length = int(item_header["length"])
            payload, rest = rest[:length], rest[length:]
            rest = rest.removeprefix(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append((item_header, payload))
    return json.loads(header_line), items


class SentryInbox:
    """Real HTTP on a free port; ``dsn`` points a project's SENTRY_DSN at it."""

    def __init__(self, project_id: str = "4242", key: str = "inbox-public-key") -> None:
        self.project_id = project_id
        self.key = key
        self.raw: list[bytes] = []
        self.events: list[dict[str, Any]] = []
        self.item_types: list[str] = []
        self._lock = threading.Lock()
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                expected = f"/api/{inbox.project_id}/envelope/"
                if self.path.split("?")[0] != expected:
                    self.send_error(404, f"not {expected}")
                    return
                data = decompress(body, self.headers.get("Content-Encoding", ""))
                _, items = parse_envelope(data)
                with inbox._lock:
                    inbox.raw.append(data)
                    for item_header, payload in items:
                        inbox.item_types.append(item_header["type"])
                        if item_header["type"] == "event":
                            inbox.events.append(json.loads(payload))
                answer = json.dumps({"id": "0" * 32}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SentryInbox:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def dsn(self) -> str:
        return f"http://{self.key}@127.0.0.1:{self.port}/{self.project_id}"

    def tagged(self, request_id: str) -> list[dict[str, Any]]:
        """The events tagged with *request_id*."""
        with self._lock:
            return [e for e in self.events if tags(e).get("request_id") == request_id]

    def raw_bytes(self) -> bytes:
        with self._lock:
            return b"\n".join(self.raw)


def tags(event: dict[str, Any]) -> dict[str, str]:
    """An event's tags, which the SDK sends as a mapping or as [key, value] pairs."""
    return dict(event.get("tags") or {})


def exception_types(event: dict[str, Any]) -> list[str]:
    return [str(value.get("type")) for value in event.get("exception", {}).get("values", [])]
