"""Put the :mod:`adapters.serving.app` app on waitress, with every resource bounded.

Why waitress: a production WSGI server in pure Python (nothing to compile, runs wherever the tool
runs, no framework needed for four routes), and it has the bounds a public endpoint needs:

* ``threads``: requests handled at once; each holds at most one upload in memory (about twice
  its size while the multipart body is split, once while it waits for the engine), and only
  ``workers`` of them run Tesseract (the engine's semaphore); at most ``threads - workers - 1``
  wait their turn (:func:`waiting_limit`), later ones get 503 at once, so ``/health`` always
  finds a thread;
* ``connection_limit``: sockets open at once; past it new connections wait in the listen
  backlog instead of being read;
* ``max_request_body_size``: a Content-Length over ``--max-upload-mb`` is refused (413) before
  a byte of the body is read, and a chunked body is cut off at the same size; waitress buffers
  a body in memory up to 512 KB and in an anonymous temporary file beyond, so even queued
  uploads do not fill memory;
* ``channel_timeout``: a client that stalls mid-upload is dropped (checked every 10 s).

The errors waitress answers by itself (413 over the size limit, 400 for a malformed request
line or chunked encoding, 431 for huge headers) are rendered as the app's JSON error bodies by
a small subclass of its error task, so a client sees one error format whoever refused it.
"""
from __future__ import annotations

import http
import ipaddress
import json
import logging
import signal
import threading
from dataclasses import dataclass, replace
from typing import Any, Callable

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask

from adapters.core.errors import EngineUnavailable, InputError
from adapters.core.system import usable_cpus
from adapters.providers.registry import ProviderSpec, Settings
from adapters.serving.app import App, EngineSlots, Limits, error_payload

log = logging.getLogger("bench.serve")

DEFAULT_PORT = 5000
MAX_DEFAULT_THREADS = 16  # each thread may hold an upload in memory: the default stays bounded on big hosts
_LOOP_TIMEOUT = 0.2  # seconds one poll may block; bounds how long stop() takes


@dataclass(frozen=True)
class ServeOptions:
    """Where to listen and how much to accept at once (see the module docstring)."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    threads: int = 4
    connection_limit: int = 100
    channel_timeout: int = 30


_WAITRESS_CODES = {400: "bad_request", 413: "too_large", 431: "headers_too_large", 500: "internal_error",
                   501: "not_implemented"}


class _JsonErrorTask(ErrorTask):
    """waitress's own refusals, as ``{"error", "code", "status"}`` JSON like the app's."""

    def execute(self) -> None:
        error = self.request.error
        status = int(getattr(error, "code", 500))
        detail = str(getattr(error, "body", "") or "")
        if status == 413:
            limit = self.channel.server.adj.max_request_body_size - 1
            message = f"the upload is over the limit of {limit:,} bytes (--max-upload-mb)"
        else:
            message = f"{getattr(error, 'reason', 'error')}: {detail}".rstrip(": ")
        body = json.dumps(error_payload(status, _WAITRESS_CODES.get(status, "bad_request"), message)).encode()
        self.status = f"{status} {http.HTTPStatus(status).phrase}"
        self.response_headers.append(("Content-Type", "application/json; charset=utf-8"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _JsonErrorChannel(HTTPChannel):
    error_task_class = _JsonErrorTask


class Server:
    """A bound waitress server: ``run()`` in the foreground, or ``start()`` / ``stop()`` around a thread."""

    def __init__(self, app: App, options: ServeOptions = ServeOptions()) -> None:
        self.app = app
        self.options = options
        self._map: dict[int, Any] = {}
        self._server = create_server(
            app, map=self._map, host=options.host, port=options.port, threads=options.threads,
            connection_limit=options.connection_limit, channel_timeout=options.channel_timeout,
            cleanup_interval=10,
            max_request_body_size=app.limits.max_upload_bytes + 1,  # waitress refuses >= this
            ident="bench-serve", expose_tracebacks=False, asyncore_use_poll=True)
        for dispatcher in list(self._map.values()):
            if isinstance(dispatcher, BaseWSGIServer):
                dispatcher.channel_class = _JsonErrorChannel
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def addresses(self) -> list[tuple[str, int]]:
        listen = getattr(self._server, "effective_listen", None)
        if listen:
            return [(str(host), int(port)) for host, port in listen]
        return [(str(self._server.effective_host), int(self._server.effective_port))]

    @property
    def url(self) -> str:
        """``http://host:port`` of the first address (IPv6 hosts in brackets)."""
        host, port = self.addresses[0]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def run(self) -> None:
        """Serve until :meth:`stop` (from another thread) or Ctrl-C; then close every socket."""
        try:
            while not self._stopping.is_set() and self._map:
                wasyncore.loop(timeout=_LOOP_TIMEOUT, use_poll=True, map=self._map, count=1)
        finally:
            self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
            wasyncore.close_all(self._map, ignore_all=True)

    def start(self) -> "Server":
        self._thread = threading.Thread(target=self.run, name="bench-serve", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def default_workers() -> int:
    """One engine process per CPU this process may use."""
    return usable_cpus()


def default_threads(workers: int) -> int:
    """Eight request threads per engine slot, at most :data:`MAX_DEFAULT_THREADS` unless ``workers``
    needs more: a burst of uploads waits in threads for an engine slot (each holding only its image)
    instead of being refused, while one thread stays free for ``/health``."""
    return max(workers + 2, min(MAX_DEFAULT_THREADS, 8 * workers))


def waiting_limit(threads: int, workers: int) -> int:
    """How many requests may wait for an engine slot: every thread but the ``workers`` running the
    engine and one left for ``/health`` (a waiting request holds its thread)."""
    return max(0, threads - workers - 1)


def open_server(engine: ProviderSpec, wire: ProviderSpec, settings: Settings, options: ServeOptions,
                limits: Limits, workers: int | None = None, threads: int | None = None,
                timeout: float | None = None) -> Server:
    """``bench serve`` up to the listening socket: ``engine`` checked (its spec's local engine with
    ``settings``), ``workers`` engine slots and ``threads`` request threads (defaults above), the
    app answering ``/evaluation`` in ``wire``'s format. Every refusal is an InputError; listening off
    loopback is logged as a warning (the API has no authentication)."""
    if engine.engine is None:
        raise InputError(f"{engine.name} has no local engine to serve")
    missing = engine.engine.available(engine.settings(settings))
    if missing:
        raise EngineUnavailable(missing)
    slots = workers or default_workers()
    threads = threads or default_threads(slots)
    ocr = EngineSlots(engine, settings, workers=slots, timeout=timeout, max_waiting=waiting_limit(threads, slots))
    options = replace(options, threads=threads)
    try:
        server = Server(App(ocr, wire, limits), options)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot listen on {options.host}:{options.port}: "
                         f"{getattr(exc, 'strerror', None) or exc}") from None
    try:
        loopback = all(ipaddress.ip_address(address.split("%")[0]).is_loopback for address, _ in server.addresses)
    except ValueError:
        loopback = False
    if not loopback:
        log.warning("listening on %s: reachable from other machines, and the API has no authentication",
                    ", ".join(address for address, _ in server.addresses))
    return server


def serve_forever(server: Server, echo: Callable[[str], None]) -> None:
    """The CLI's foreground loop: say where it listens and how to call it, then serve until Ctrl-C
    (KeyboardInterrupt propagates) or SIGTERM (a clean stop)."""
    url = server.url
    echo(f"serving {server.app.engine.describe()} at {url} ({server.app.limits.describe()}; "
         f"{server.options.threads} request threads, {server.options.connection_limit} connections)")
    echo(f"  curl -F 'file=@image.jpg' {url}/evaluation     # the original Light-OCR shape")
    echo(f"  curl -F 'file=@image.jpg' {url}/v1/ocr         # every word with its confidence")
    echo(f"  curl {url}/health ; curl {url}/openapi.json")
    wire = server.app.wire
    echo(f"  export {wire.url_variable}={url}/evaluation           # then: bench collect --provider {wire.name} ...")
    echo("press Ctrl-C to stop")
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: server.stop())  # e.g. docker stop
    try:
        server.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
    echo("stopped")
