"""An HTTP server on 127.0.0.1 that serves a directory's files as an ISO mirror and counts
requests per (method, path): the ISO cache tests, unit and integration, share it."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

__all__ = ["IsoServer", "iso_server"]

_PROXIES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy")


class IsoServer:
    """Files of `root` over HTTP, counting requests per (method, path)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: Counter[tuple[str, str]] = Counter()
        counts, lock, directory = self.requests, threading.Lock(), str(root)

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, directory=directory, **kwargs)  # type: ignore[arg-type]

            def _count(self) -> None:
                with lock:
                    counts[(self.command, self.path)] += 1

            def do_GET(self) -> None:
                self._count()
                super().do_GET()

            def do_HEAD(self) -> None:
                self._count()
                super().do_HEAD()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    def gets(self, name: str) -> int:
        return self.requests[("GET", f"/{name}")]

    def heads(self, name: str) -> int:
        return self.requests[("HEAD", f"/{name}")]

    def add(self, name: str, data: bytes) -> str:
        """Serve `data` as `name`; returns its ``sha256:`` checksum."""
        (self.root / name).write_bytes(data)
        return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def iso_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[IsoServer]:
    """An `IsoServer` of ``tmp_path/srv``, reached without a proxy."""
    for name in _PROXIES:
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "srv"
    root.mkdir()
    server = IsoServer(root)
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    server.thread.join()
