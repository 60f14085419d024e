"""`/healthz`, `/readyz` and `/metrics` on one port, for the kubelet's probes and Prometheus."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from scalers.runner import Runner

log = logging.getLogger(__name__)


class Health:
    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        self._server: ThreadingHTTPServer | None = None

    def problems(self) -> list[str]:
        return self._runner.problems()

    def unsynced(self) -> list[str]:
        return [
            f"{loop.name} loop caches not synced"
            for loop in self._runner.loops
            if not loop.synced()
        ]

    def serve(self, port: int, host: str = "") -> int:
        """Serve in a daemon thread; returns the port (given 0, the one the system chose)."""
        health = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._answer(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
                elif path in ("/healthz", "/readyz"):
                    failing = health.problems() if path == "/healthz" else health.unsynced()
                    text = "\n".join(failing) if failing else "ok"
                    self._answer(500 if failing else 200, (text + "\n").encode(), "text/plain")
                else:
                    self._answer(404, b"not found\n", "text/plain")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # probes every few seconds are not news

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="health", daemon=True).start()
        bound = int(self._server.server_address[1])
        log.info(f"serving /healthz, /readyz and /metrics on port {bound}")
        return bound

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
