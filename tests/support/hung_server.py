"""A dependency that accepts connections and never answers: a hung broker, cache or database."""

from __future__ import annotations

import socket
import threading


class HungServer:
    """A TCP listener on loopback that accepts every connection and never sends a byte."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                accepted, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(accepted)

    def __enter__(self) -> HungServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.close()
        for accepted in self.connections:
            accepted.close()
