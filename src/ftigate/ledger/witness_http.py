"""``POST /add-checkpoint`` over HTTP with the standard library (no web framework is a
dependency of ftigate). Each request is handled by :meth:`WitnessState.add_checkpoint`,
which serialises the old-size check and the update with a file lock."""

from __future__ import annotations

from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ftigate.ledger.witness import MAX_REQUEST_BYTES, WitnessResponse, WitnessState

PATH = "/add-checkpoint"


def make_server(witness: WitnessState, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        server_version = "ftigate-witness"

        def do_POST(self) -> None:
            if self.path != PATH:
                self._send(WitnessResponse(404, "not found\n"))
                return
            length_text = self.headers.get("Content-Length")
            try:
                length = int(length_text) if length_text is not None else -1
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_REQUEST_BYTES:
                self._send(WitnessResponse(400, "a Content-Length up to 1 MiB is required\n"))
                return
            self._send(witness.add_checkpoint(self.rfile.read(length)))

        def do_GET(self) -> None:
            self._send(WitnessResponse(405, "use POST /add-checkpoint\n"))

        def _send(self, response: WitnessResponse) -> None:
            data = response.body.encode("utf-8")
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return  # requests hold only checkpoints; nothing to log, nothing to leak

    return ThreadingHTTPServer((host, port), Handler)


def serve(witness: WitnessState, host: str, port: int, announce: Callable[[str], None]) -> None:
    server = make_server(witness, host, port)
    bound_host, bound_port = server.server_address[:2]
    announce(f"http://{bound_host!s}:{bound_port}{PATH}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
