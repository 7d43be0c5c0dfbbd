"""A stand-in for the InfluxDB 2.x query API on loopback: answers ``POST /api/v2/query`` with
recorded annotated-CSV files (tests/data/influx2) and keeps every request it got.

No InfluxDB 2.x server package exists here; the files follow the documented annotated-CSV
format (``#datatype``, ``#group``, ``#default``, header, rows; one block per table schema) and
were written by hand.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "influx2"
TOKEN = "test-token"


class FluxServer:
    """What the server answers and what it was asked.

    ``responses`` are served in order, one per query, then ``response`` for every later query.
    ``requests`` holds each request's JSON body (``query``, ``extern``, ...), ``calls`` its
    path (with the query string) and ``Authorization`` header.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.response: Path = DATA / "read_empty.csv"
        self.responses: list[Path] = []
        self.requests: list[dict] = []
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def url(self, org: str = "bms", bucket: str = "telemetry") -> str:
        """``influxdb2://`` URL of this server."""
        return f"influxdb2://127.0.0.1:{self.port}?org={org}&bucket={bucket}"

    def _next(self, path: str, authorization: str, body: dict) -> bytes:
        with self._lock:
            self.requests.append(body)
            self.calls.append((path, authorization))
            served = self.responses.pop(0) if self.responses else self.response
        return served.read_bytes()


@contextmanager
def flux_server() -> Iterator[FluxServer]:
    """Run a :class:`FluxServer` on a free loopback port for the ``with`` block."""
    state: FluxServer

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            payload = state._next(self.path, self.headers.get("Authorization", ""), body)
            self.send_response(200)
            self.send_header("Content-Type", "text/csv; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = FluxServer(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def extern_options(request: dict) -> dict[str, dict]:
    """``{name: literal}`` of the ``option name = <literal>`` statements of a query's extern."""
    statements = request["extern"]["body"]
    assert {s["type"] for s in statements} == {"OptionStatement"}
    return {s["assignment"]["id"]["name"]: s["assignment"]["init"] for s in statements}


def literal(node: dict) -> object:
    """The Python value of an extern literal (strings, arrays of them, date-times)."""
    if node["type"] == "ArrayExpression":
        return [literal(e) for e in node["elements"]]
    assert node["type"] in ("StringLiteral", "DateTimeLiteral", "IntegerLiteral"), node["type"]
    return node["value"]
