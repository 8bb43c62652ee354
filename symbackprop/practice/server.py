"""The practice web app: the page, its static files (KaTeX included) and a small JSON API over HTTP.

Why the standard library's ``http.server`` and not Starlette/uvicorn or Flask: the app serves one page,
four static kinds and three JSON routes to a class on a local network; ``ThreadingHTTPServer`` does that
with no new dependency, and the limits a public-facing stack would give are set here explicitly:

* a socket timeout per connection (a slow or silent client is dropped after ``SOCKET_SECONDS``);
* a request body cap (``MAX_BODY``, checked on Content-Length *before* reading; no chunked bodies);
* marking runs in worker processes (``MARKERS`` for the command): there verify's time budget (SIGALRM, main thread only)
  bounds SymPy's symbolic work, a request waits at most ``MARK_SECONDS``, and a crash cannot take the
  server down; at most ``MAX_BUSY`` other requests compute at once;
* one thread per connection (daemon threads: a hung client never blocks shutdown);
* nothing a student types is evaluated (answers go to verify, which parses by an AST whitelist).

API (all stateless; the seed travels in every request):
``GET /api/exercise?seed=N`` the page data; ``POST /api/check`` ``{"seed": N, "answers": {name: text}}``
the verdicts; ``POST /api/preview`` ``{"seed": N, "text": T}`` the LaTeX of a typed formula;
``GET /api/step?seed=N&name=Q`` one worked line; ``GET /api/solution?seed=N`` all of them.
"""

from __future__ import annotations

import json
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from functools import lru_cache, partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from multiprocessing import get_context
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..engine.solution import solve_any
from ..errors import SymbackpropError
from .exercise import Exercise, PracticeError, check, draw, page_data, parse_seed, preview, step

#: bytes of a request body (a whole page of answers is a few kB)
MAX_BODY = 64 * 1024
#: bytes of a too-large body still read (and dropped) before the refusal; beyond it the connection is closed
MAX_DRAINED = 4 * 1024 * 1024
#: seconds a connection may stay silent
SOCKET_SECONDS = 10
#: requests computing at once (drawing, steps, previews) in the server's threads
MAX_BUSY = 4
#: worker processes that mark, and the longest a check may take before the page hears an error
MARKERS = 2
MARK_SECONDS = 20.0
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".woff2": "font/woff2", ".txt": "text/plain; charset=utf-8"}
_SECURITY = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
             "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"}


class App:
    """The exercises of one spec: draws by seed (a small cache of drawn values, nothing of any student)."""

    def __init__(self, spec: str | None, markers: int = MARKERS):
        self.spec = spec
        self.n_markers = markers
        self.base = solve_any(spec, prove=False)  # a practice exercise needs the definitions, not the proofs
        self.exercise: Callable[[int], Exercise] = lru_cache(maxsize=64)(partial(draw, self.base))
        self.exercise(0)  # the [exam] ranges can draw a fair exercise: else one line now, before listening
        self.busy = threading.BoundedSemaphore(MAX_BUSY)
        self.markers = self._markers()

    def _markers(self) -> ProcessPoolExecutor:
        # Forked from multiprocessing's fork server, not spawned: the fork server (a fresh interpreter, none of
        # this process's threads or state) loads SymPy and the engine once, and each marker, a restarted one
        # too, forks from it ready to solve.  Not a plain fork: this process serves from threads.
        context = get_context("forkserver")
        context.set_forkserver_preload([__name__])
        pool = ProcessPoolExecutor(self.n_markers, mp_context=context, initializer=_start_marker,
                                   initargs=(self.spec, os.getpid()))
        for _ in range(self.n_markers):  # started now, so the first "check" does not wait for SymPy to load
            pool.submit(_mark, 0, {})
        return pool

    def get(self, path: str, query: dict[str, list[str]]) -> dict[str, Any]:
        seed = parse_seed(_one(query, "seed"))
        with self.busy:
            ex = self.exercise(seed)
            if path == "/api/exercise":
                return page_data(ex)
            if path == "/api/step":
                return step(ex, _one(query, "name") or "")
            if path == "/api/solution":
                return {"steps": [step(ex, n) for _, _, names in ex.tasks for n in names]}
        raise LookupError(path)

    def post(self, path: str, body: Any) -> dict[str, Any]:
        if path not in ("/api/check", "/api/preview"):
            raise LookupError(path)
        if not isinstance(body, dict):
            raise PracticeError('body: expected {"seed": N, "answers": {name: text}} or {"seed": N, "text": ...}')
        seed = parse_seed(str(body.get("seed")))
        with self.busy:
            ex = self.exercise(seed)
            if path == "/api/preview":
                return preview(ex, body.get("text", ""))
            if not isinstance(body.get("answers"), dict):
                raise PracticeError('body: expected {"seed": N, "answers": {name: text}}')
        try:
            return self.markers.submit(_mark, seed, body["answers"]).result(timeout=MARK_SECONDS)
        except FutureTimeout:
            raise PracticeError(f"marking took longer than {MARK_SECONDS:g} s; check fewer or shorter answers"
                                ) from None
        except BrokenProcessPool:
            self.markers = self._markers()
            raise PracticeError("the marker stopped; check again") from None

    def close(self) -> None:
        self.markers.shutdown(wait=True, cancel_futures=True)


# -- the marking processes: each draws (and caches) exercises itself; only seeds and answers travel --
_MARKER: dict[str, Any] = {}


def _start_marker(spec: str | None, server: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops its markers
    threading.Thread(target=_exit_with_server, args=(server,), daemon=True).start()
    base = solve_any(spec, prove=False)
    _MARKER["exercise"] = lru_cache(maxsize=64)(partial(draw, base))


def _exit_with_server(server: int) -> None:
    """A marker ends as soon as its server ends, however it ended (killed, it cannot stop its markers).

    Its parent is the fork server, which a killed server leaves running (the markers keep it), so the marker
    watches the server itself: through a pidfd where Linux has them (no mistaking a later process of the
    same number for it), else by asking for its process id every quarter of a second."""
    try:
        watched = os.pidfd_open(server)
    except (AttributeError, OSError):  # not Linux 5.3 or later, or the server is gone already
        while _running(server):
            time.sleep(0.25)
    else:
        select.select([watched], [], [])  # readable once the server has ended
    os._exit(0)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        pass
    return True


def _mark(seed: int, answers: dict[str, Any]) -> dict[str, Any]:
    return check(_MARKER["exercise"](seed), answers)


def _one(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


def _static(name: str) -> bytes | None:
    """A shipped file under static/ (no path outside it: only plain names and one folder level)."""
    parts = name.split("/")
    if not parts or any(not p or p.startswith(".") or "\\" in p for p in parts) or len(parts) > 3:
        return None
    node = files("symbackprop.practice") / "static"
    for p in parts:
        node = node / p
    return node.read_bytes() if node.is_file() else None


class Handler(BaseHTTPRequestHandler):
    app: App
    timeout = SOCKET_SECONDS
    server_version = "symbackprop-practice"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass  # no answers in any log

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        url = urlsplit(self.path)
        if url.path == "/":
            self._send(HTTPStatus.OK, _static("index.html") or b"", _TYPES[".html"])
        elif url.path.startswith("/static/"):
            name = url.path[len("/static/"):]
            data = _static(name)
            kind = _TYPES.get("." + name.rsplit(".", 1)[-1])
            if data is None or kind is None:
                self._error(HTTPStatus.NOT_FOUND, "no such file")
            else:
                self._send(HTTPStatus.OK, data, kind, cache=True)
        elif url.path.startswith("/api/"):
            try:
                query = parse_qs(url.query, max_num_fields=10)
            except ValueError:
                self._error(HTTPStatus.BAD_REQUEST, "at most 10 query fields")
                return
            self._api(lambda: self.app.get(url.path, query))
        else:
            self._error(HTTPStatus.NOT_FOUND, "no such page")

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        url = urlsplit(self.path)
        if self.headers.get("Transfer-Encoding"):
            self._error(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length, not a chunked body", close=True)
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._error(HTTPStatus.LENGTH_REQUIRED, "Content-Length missing", close=True)
            return
        if not 0 <= length <= MAX_BODY:
            if 0 < length <= MAX_DRAINED:  # read and dropped, so the client hears why (not a reset connection)
                left = length
                while left > 0:
                    chunk = self.rfile.read(min(65536, left))
                    if not chunk:
                        break
                    left -= len(chunk)
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"a request body has at most {MAX_BODY:,} bytes",
                        close=True)
            return
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            self._error(HTTPStatus.BAD_REQUEST, "the body is not JSON")
            return
        self._api(lambda: self.app.post(url.path, body))

    def _api(self, work: Callable[[], dict[str, Any]]) -> None:
        try:
            result = work()
        except LookupError:
            self._error(HTTPStatus.NOT_FOUND, "no such API route")
        except SymbackpropError as err:
            self._error(HTTPStatus.BAD_REQUEST, str(err))
        except Exception as err:  # noqa: BLE001 - one bad request must not take the server down
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"could not answer ({type(err).__name__})")
        else:
            self._send(HTTPStatus.OK, json.dumps(result).encode(), "application/json")

    def _error(self, status: HTTPStatus, message: str, close: bool = False) -> None:
        if close:
            self.close_connection = True
        self._send(status, json.dumps({"error": message}).encode(), "application/json")

    def _send(self, status: HTTPStatus, data: bytes, kind: str, cache: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "max-age=3600" if cache else "no-store")
        for key, value in _SECURITY.items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)


class PracticeServer(ThreadingHTTPServer):
    daemon_threads = True
    app: App

    def server_close(self) -> None:
        super().server_close()
        app = getattr(self, "app", None)  # a failed bind closes the server before make_server gives it its app
        if app is not None:
            app.close()


def make_server(spec: str | None = None, host: str = "127.0.0.1", port: int = 8000,
                markers: int = MARKERS) -> PracticeServer:
    """A server for ``spec`` (None: the lecture network) bound to ``host:port`` (port 0: any free one),
    not yet serving, marking in ``markers`` processes (each solves the spec; their fork server loads SymPy
    once per process: about 0.7 s of CPU); ``server_close`` stops them."""
    app = App(spec, markers)
    handler = type("PracticeHandler", (Handler,), {"app": app})
    try:
        server = PracticeServer((host, port), handler)
    except OSError:
        app.close()
        raise
    server.app = app
    return server
