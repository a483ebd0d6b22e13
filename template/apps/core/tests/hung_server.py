"""A dependency that accepts connections and never answers, for timeout tests."""

import socket
import threading
import time
from urllib.parse import urlsplit


class HungServer:
    """A TCP server that accepts connections and never answers: a hung dependency."""

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

    def accepted(self, *, within: float = 5.0) -> int:
        """How many connections it accepted, once at least one was or *within* seconds passed.

        A check's thread connects in the background, later than its probe
        returns on a loaded machine.
        """
        deadline = time.monotonic() + within
        while not self.connections and time.monotonic() < deadline:
            time.sleep(0.01)
        return len(self.connections)

    def close(self) -> None:
        """Hang up: every client waiting for an answer gets end-of-file."""
        self.listener.close()
        for accepted in self.connections:
            accepted.close()


def stopped_port() -> int:
    """A port nothing listens on: a dependency that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def moved_to(url: str, port: int) -> str:
    """*url* pointed at 127.0.0.1:*port*, its scheme, database and options kept."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return parts._replace(netloc=netloc).geturl()
