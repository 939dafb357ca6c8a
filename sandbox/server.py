"""Run a WSGI app on a loopback port in a daemon thread (tests, benchmarks, `make run`)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    """Request handler that does not log every request (thousands per benchmark)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log_error(self, format: str, *args: Any) -> None:
        # Dropped-connection faults make werkzeug complain about broken pipes; those are the point.
        logging.getLogger("sandbox.server").debug(format, *args)


class ServerThread:
    """A threaded werkzeug server on 127.0.0.1 (port 0 picks a free port), started in a daemon thread.

    Use as a context manager, or call `start()` and `stop()`. `url` is `http://127.0.0.1:<port>`.
    """

    def __init__(self, app: Any, port: int = 0, host: str = "127.0.0.1", quiet: bool = True) -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_QuietHandler if quiet else WSGIRequestHandler
        )
        # Many clients at once in load tests; the default backlog of 5 drops connections under bursts.
        self._server.socket.listen(128)
        # ThreadingMixIn's flag: request threads must not keep the process alive at exit.
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self.host = host
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"sandbox-server-{self.port}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        """Start serving; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
