"""The web service that EC2 instances and ECS tasks run.

Standard library only and Python 3.9 compatible: Amazon Linux 2023's system python3 is 3.9, and nothing is
downloaded at boot. Settings come from the environment (see ``settings_from_environment``). It writes one JSON
line per request to stdout and nothing to disk, so it runs as an unprivileged user on a read-only root
filesystem. SIGTERM stops it gracefully: requests in flight get SHUTDOWN_GRACE_SECONDS to finish.

    PORT=8080 GREETING="Hello" python3 server.py
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import io
import ipaddress
import json
import math
import os
import queue
import re
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus

# Application Load Balancers forward request lines up to 16 KB and header blocks up to 64 KB.
MAX_REQUEST_LINE_BYTES = 16 * 1024
MAX_HEADER_BYTES = 64 * 1024
# GET and HEAD need no body; a small one is read and dropped, a larger one is refused.
MAX_IGNORED_BODY_BYTES = 64 * 1024
MAX_LOGGED_CHARACTERS = 1024
MAX_SLOW_SECONDS = 60.0
ALLOWED_METHODS = ("GET", "HEAD")
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
CONTENT_LENGTH = re.compile(r"[0-9]{1,18}")
PATH_PREFIX = re.compile(r"(/[A-Za-z0-9._~-]+)+")


class ConfigError(Exception):
    """An environment variable has a value the service cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    port: int
    bind: str
    service_name: str
    greeting: str
    environment: str
    identity: str
    shutdown_grace_seconds: float
    idle_timeout_seconds: float
    request_timeout_seconds: float
    workers: int
    max_queued_connections: int
    debug_slow_path: bool
    path_prefix: str = ""


def settings_from_environment(env: Mapping[str, str]) -> Settings:
    """The service's settings; an empty variable counts as unset. Raises ConfigError naming a bad variable."""
    service_name = _text(env, "SERVICE_NAME", "web")
    return Settings(
        port=_integer(env, "PORT", 8080, 0, 65535),  # 0: any free port, logged at startup
        bind=_ip_address(env, "BIND", "0.0.0.0"),
        service_name=service_name,
        greeting=_text(env, "GREETING", f"Hello from {service_name}"),
        environment=_text(env, "ENVIRONMENT", ""),
        # Identity comes from the environment, never from the metadata service, which can hang or be blocked.
        identity=_text(env, "INSTANCE_ID", "") or _text(env, "TASK_ID", "") or socket.gethostname(),
        shutdown_grace_seconds=_seconds(env, "SHUTDOWN_GRACE_SECONDS", 15, 0, 3600),
        # Above the load balancer's default idle timeout of 60 s, so that it, not we, closes idle connections.
        idle_timeout_seconds=_seconds(env, "IDLE_TIMEOUT_SECONDS", 65, 0.1, 3600),
        request_timeout_seconds=_seconds(env, "REQUEST_TIMEOUT_SECONDS", 10, 0.1, 3600),
        workers=_integer(env, "WORKERS", 128, 1, 4096),
        max_queued_connections=_integer(env, "MAX_QUEUED_CONNECTIONS", 512, 1, 65536),
        debug_slow_path=_flag(env, "DEBUG_SLOW_PATH"),
        # Behind a load balancer rule such as /api/*, requests arrive with the rule's prefix: /api/health.
        path_prefix=_path_prefix(env, "PATH_PREFIX"),
    )


def _raw(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "")
    return value if value.strip() else None


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "...")


def _integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _raw(env, name)
    if raw is None:
        return default
    if not re.fullmatch(r"\s*[0-9]{1,9}\s*", raw) or not low <= int(raw) <= high:
        raise ConfigError(f"{name} must be an integer from {low} to {high}, got {_shown(raw)}")
    return int(raw)


def _seconds(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = _raw(env, name)
    if raw is None:
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not low <= value <= high:
        raise ConfigError(f"{name} must be a number of seconds from {low:g} to {high:g}, got {_shown(raw)}")
    return value


def _text(env: Mapping[str, str], name: str, default: str, max_length: int = 200) -> str:
    raw = _raw(env, name)
    if raw is None:
        return default
    if len(raw) > max_length or not raw.isprintable():
        raise ConfigError(f"{name} must be at most {max_length} printable characters, got {_shown(raw)}")
    return raw


def _ip_address(env: Mapping[str, str], name: str, default: str) -> str:
    raw = _raw(env, name)
    if raw is None:
        return default
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        raise ConfigError(f"{name} must be an IP address such as 0.0.0.0 or ::, got {_shown(raw)}") from None


def _path_prefix(env: Mapping[str, str], name: str) -> str:
    raw = _raw(env, name)
    if raw is None:
        return ""
    if len(raw) > 200 or not PATH_PREFIX.fullmatch(raw.strip()):
        raise ConfigError(f"{name} must be a path such as /api, with no trailing slash, got {_shown(raw)}")
    return raw.strip()


def without_prefix(path: str, prefix: str) -> str:
    """The path as the service knows it: /api/health -> /health under the prefix /api; others unchanged."""
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        return path[len(prefix):] or "/"
    return path


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = (_raw(env, name) or "0").strip().lower()
    if raw not in ("0", "1", "false", "true"):
        raise ConfigError(f"{name} must be 1 or 0, got {_shown(raw)}")
    return raw in ("1", "true")


_log_lock = threading.Lock()


def log(event: str, **fields: object) -> None:
    """Write one JSON line to stdout, the service's only output, read by journald or CloudWatch Logs."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
    line = json.dumps({"time": stamp, "event": event, **fields}, separators=(",", ":"), default=str)
    with _log_lock:
        try:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except (OSError, ValueError):
            pass  # a closed log stream must not take requests down with it


class RequestHeadTooLarge(Exception):
    def __init__(self, status: HTTPStatus) -> None:
        super().__init__(status.phrase)
        self.status = status


class ConnectionReader(io.RawIOBase):
    """A connection's incoming bytes, read under the two limits that keep slow clients from holding a worker.

    Before a request, the wait for its first byte is bounded by the idle timeout. From that byte on, the whole
    request must arrive within the request timeout, however slowly it trickles in: a timeout per read alone
    would let a slowloris client hold the connection forever by sending one byte at a time.
    """

    def __init__(self, sock: socket.socket, idle_timeout: float, request_timeout: float) -> None:
        super().__init__()
        self._sock = sock
        self._idle_timeout = idle_timeout
        self._request_timeout = request_timeout
        self._lock = threading.Lock()
        self._deadline: float | None = None  # set while a request is arriving
        self._stopping = False
        self.request_started: float | None = None

    def readable(self) -> bool:
        return True

    @property
    def in_request(self) -> bool:
        return self._deadline is not None

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        with self._lock:
            waiting = self._deadline is None
            if waiting:
                # When stopping, take a request that has already arrived, but wait for no other.
                timeout = 0.0 if self._stopping else self._idle_timeout
            else:
                timeout = self._deadline - time.monotonic()
                if timeout <= 0:
                    raise socket.timeout("the request took too long to arrive")
        self._sock.settimeout(timeout)
        try:
            received = self._sock.recv_into(buffer)
        except BlockingIOError:  # only with a timeout of 0: nothing had arrived
            return 0
        if waiting and received:
            with self._lock:
                self.request_started = time.monotonic()
                self._deadline = self.request_started + self._request_timeout
        return received

    def end_of_request(self) -> None:
        """The request has been read, or given up on: writes get the idle timeout, the next request a new wait."""
        with self._lock:
            self._deadline = None
            self.request_started = None
        self._sock.settimeout(self._idle_timeout)

    def stop_waiting(self) -> None:
        """Wait for no further request; one that is arriving still arrives and is answered."""
        with self._lock:
            self._stopping = True
            if self._deadline is None:
                with contextlib.suppress(OSError):
                    self._sock.shutdown(socket.SHUT_RD)  # wakes a worker blocked waiting for the next request


class RequestHandler(http.server.BaseHTTPRequestHandler):
    """Answers GET and HEAD for / and /health in JSON, over as many requests as the connection carries."""

    server: WebServer
    protocol_version = "HTTP/1.1"  # keep-alive, which load balancers use
    # A request line without a version gets a full response with status line and headers, not HTTP/0.9's bare body.
    default_request_version = "HTTP/1.0"
    # Headers and body go out in two writes; Nagle's algorithm would hold the second back for an ACK.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        settings = self.server.settings
        self.rfile.close()
        self.reader = ConnectionReader(
            self.connection, settings.idle_timeout_seconds, settings.request_timeout_seconds
        )
        self.rfile = io.BufferedReader(self.reader)
        self.server.track(self.reader)

    def finish(self) -> None:
        self.server.untrack(self.reader)
        super().finish()

    def handle_one_request(self) -> None:
        """Read one request and answer it: the standard library's version, plus limits on the request's size
        and time, JSON errors, and one log line per request."""
        self.request_id = uuid.uuid4().hex
        self.command, self.path, self.request_version = "", "", self.default_request_version
        self.headers = http.client.HTTPMessage()
        self.started: float | None = None
        try:
            head = self._read_head()
            if head is None:
                self.close_connection = True
            elif self._parse(*head) and self._discard_body():
                self._answer()
        except RequestHeadTooLarge as error:
            self.send_error(error.status)
        except socket.timeout:  # on Python 3.9 socket.timeout is not yet TimeoutError
            self.close_connection = True
            if self.reader.in_request:
                self.send_error(HTTPStatus.REQUEST_TIMEOUT)

    def _read_head(self) -> tuple[bytes, bytes] | None:
        """The request line and the header block, or None if the client closed the connection instead."""
        request_line = self.rfile.readline(MAX_REQUEST_LINE_BYTES + 1)
        if request_line in (b"\r\n", b"\n"):  # RFC 9112 2.2: ignore an empty line before the request
            request_line = self.rfile.readline(MAX_REQUEST_LINE_BYTES + 1)
        if not request_line:
            return None
        self.started = self.reader.request_started or time.monotonic()
        if len(request_line) > MAX_REQUEST_LINE_BYTES:
            raise RequestHeadTooLarge(HTTPStatus.REQUEST_URI_TOO_LONG)
        header_lines: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(MAX_HEADER_BYTES - size + 1)
            if not line:
                return None
            size += len(line)
            if size > MAX_HEADER_BYTES:
                raise RequestHeadTooLarge(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
            header_lines.append(line)
            if line in (b"\r\n", b"\n"):
                return request_line, b"".join(header_lines)

    def _parse(self, request_line: bytes, header_block: bytes) -> bool:
        """The standard library's parse_request, given the head we have already read within our limits.

        It reads the headers from self.rfile, so for its duration self.rfile is the header block.
        """
        self.raw_requestline = request_line
        connection_rfile, self.rfile = self.rfile, io.BytesIO(header_block)  # type: ignore[assignment]
        try:
            return self.parse_request()
        finally:
            self.rfile = connection_rfile

    def _discard_body(self) -> bool:
        """Read and drop a request body, so that the next request on the connection starts where it should.

        False when the request has been answered already.
        """
        if self.headers.get("Transfer-Encoding"):
            # A chunked body is not worth decoding only to drop it: answer, then close the connection.
            self.close_connection = True
            return True
        lengths = [value.strip() for value in self.headers.get_all("Content-Length", [])]
        if not lengths:
            return True
        if len(set(lengths)) > 1 or not CONTENT_LENGTH.fullmatch(lengths[0]):
            self.send_error(HTTPStatus.BAD_REQUEST, "Invalid Content-Length")
            return False
        length = int(lengths[0])
        if length > MAX_IGNORED_BODY_BYTES:
            self.send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            return False
        if len(self.rfile.read(length)) < length:
            self.close_connection = True  # the client left before sending all of it
            return False
        return True

    def _answer(self) -> None:
        if self.command not in ALLOWED_METHODS:
            self._respond(
                HTTPStatus.METHOD_NOT_ALLOWED, {"error": "method not allowed"}, [("Allow", ", ".join(ALLOWED_METHODS))]
            )
            return
        try:
            status, document = self._route()
        except Exception:
            log("error", request_id=self.request_id, traceback=traceback.format_exc())
            status, document = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"}
        self._respond(status, document)

    def _route(self) -> tuple[HTTPStatus, dict]:
        settings = self.server.settings
        try:
            path = without_prefix(urllib.parse.urlsplit(self.path).path, settings.path_prefix)
        except ValueError:
            return HTTPStatus.BAD_REQUEST, {"error": "malformed request target"}
        if path == "/":
            return HTTPStatus.OK, {
                "message": settings.greeting,
                "service": settings.service_name,
                "environment": settings.environment,
                "instance": settings.identity,
            }
        if path == "/health":
            return HTTPStatus.OK, {"status": "ok"}
        if path == "/debug/slow" and settings.debug_slow_path:
            return self._slow_answer()
        return HTTPStatus.NOT_FOUND, {"error": "not found"}

    def _slow_answer(self) -> tuple[HTTPStatus, dict]:
        """Answer after ?seconds=N: for tests that need a request in flight. Only when DEBUG_SLOW_PATH=1."""
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        try:
            seconds = float(query.get("seconds", ["1"])[0])
        except ValueError:
            seconds = math.nan
        if not 0 <= seconds <= MAX_SLOW_SECONDS:
            return HTTPStatus.BAD_REQUEST, {"error": f"seconds must be from 0 to {MAX_SLOW_SECONDS:g}"}
        time.sleep(seconds)
        return HTTPStatus.OK, {"slept_seconds": seconds}

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer a request that cannot be served (parse_request calls this too) in JSON, and close the
        connection: after a malformed request there is no telling where the next one would start."""
        self.close_connection = True
        self._respond(HTTPStatus(code), {"error": message or HTTPStatus(code).phrase})

    def _respond(self, status: HTTPStatus, document: dict, headers: list[tuple[str, str]] | None = None) -> None:
        started = self.started or self.reader.request_started or time.monotonic()
        self.reader.end_of_request()
        body = json.dumps(document).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Request-Id", self.request_id)
        for name, value in headers or []:
            self.send_header(name, value)
        if self.close_connection or self.server.draining:
            self.send_header("Connection", "close")  # also sets close_connection
        elif self.request_version == "HTTP/1.0":
            self.send_header("Connection", "keep-alive")
        self.end_headers()
        sent = 0 if self.command == "HEAD" else len(body)
        if sent:
            self.wfile.write(body)
        self._log_request(status, sent, started)

    def _log_request(self, status: HTTPStatus, sent: int, started: float) -> None:
        fields = {
            "method": self.command,
            # Query strings can carry tokens: keep them out of the logs.
            "path": self.path.split("?", 1)[0][:MAX_LOGGED_CHARACTERS],
            "status": int(status),
            "duration_ms": round((time.monotonic() - started) * 1000, 3),
            "bytes": sent,
            "remote": self.client_address[0],
            "request_id": self.request_id,
        }
        for field, header in (("forwarded_for", "X-Forwarded-For"), ("trace_id", "X-Amzn-Trace-Id")):
            if header in self.headers:
                fields[field] = str(self.headers[header])[:MAX_LOGGED_CHARACTERS]
        log("request", **fields)

    def version_string(self) -> str:
        return self.server.settings.service_name  # the Server header names no software versions

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # _log_request writes the access log line, with more fields

    def log_message(self, format: str, *args: object) -> None:
        log("http", message=format % args)


OVERLOADED_BODY = b'{"error": "overloaded"}\n'
OVERLOADED_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
    b"Connection: close\r\nContent-Length: " + str(len(OVERLOADED_BODY)).encode() + b"\r\n\r\n" + OVERLOADED_BODY
)


class WebServer(socketserver.TCPServer):
    """Accepts connections on one thread and serves them on a fixed pool of worker threads.

    A connection keeps its worker for as long as it stays open (what keep-alive costs with threads), so
    WORKERS should exceed the connections the load balancers keep open to one target. Further connections wait
    in a queue of MAX_QUEUED_CONNECTIONS; beyond that they get 503 at once, so that a flood costs a socket for
    a moment rather than a thread or memory.
    """

    # TCPServer rather than HTTPServer, which looks up the host's FQDN when it binds: a DNS call that can hang.
    allow_reuse_address = True  # restart at once after a stop, without waiting out TIME_WAIT
    request_queue_size = 1024  # the listen backlog; socketserver's default of 5 drops bursts of connections

    def __init__(self, settings: Settings) -> None:
        self.address_family = socket.AF_INET6 if ":" in settings.bind else socket.AF_INET
        super().__init__((settings.bind, settings.port), RequestHandler)
        self.settings = settings
        self.draining = False
        self._state = threading.Condition()
        self._readers: set[ConnectionReader] = set()
        self._open_connections = 0
        self._queue: queue.Queue[tuple[socket.socket, tuple]] = queue.Queue(settings.max_queued_connections)
        for number in range(settings.workers):
            # Daemon threads, so that a request still running when the grace period ends cannot keep us alive.
            threading.Thread(target=self._serve_queued_connections, name=f"worker-{number}", daemon=True).start()

    def process_request(self, request: socket.socket, client_address: tuple) -> None:  # type: ignore[override]
        with self._state:
            self._open_connections += 1
        try:
            self._queue.put_nowait((request, client_address))
        except queue.Full:
            self._turn_away(request, client_address)

    def _serve_queued_connections(self) -> None:
        while True:
            request, client_address = self._queue.get()
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)
                self._connection_closed()

    def _turn_away(self, request: socket.socket, client_address: tuple) -> None:
        log("overloaded", remote=client_address[0], queued=self._queue.qsize())
        try:
            request.settimeout(1)
            request.sendall(OVERLOADED_RESPONSE)
        except OSError:
            pass
        self.shutdown_request(request)
        self._connection_closed()

    def _connection_closed(self) -> None:
        with self._state:
            self._open_connections -= 1
            self._state.notify_all()

    def track(self, reader: ConnectionReader) -> None:
        with self._state:
            self._readers.add(reader)
            if self.draining:
                reader.stop_waiting()

    def untrack(self, reader: ConnectionReader) -> None:
        with self._state:
            self._readers.discard(reader)

    def handle_error(self, request: object, client_address: tuple) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, socket.timeout)):
            return  # the client left or stalled: nothing for us to fix
        log("error", remote=client_address[0], traceback=traceback.format_exc())

    def stop(self) -> bool:
        """Stop accepting, close idle connections, and give requests in flight until the grace period ends.

        True when every connection had closed by then.
        """
        self.shutdown()  # returns once serve_forever has stopped accepting
        self.server_close()  # new connections are refused, not left waiting in the backlog
        with self._state:
            self.draining = True
            for reader in self._readers:
                reader.stop_waiting()
            return self._state.wait_for(lambda: self._open_connections == 0, self.settings.shutdown_grace_seconds)


def main() -> int:
    try:
        settings = settings_from_environment(os.environ)
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    # Block the stop signals before any thread starts: every thread inherits the block, and the main thread
    # alone takes the signals, in sigwait below, rather than in a handler that could interrupt anything.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        server = WebServer(settings)
    except OSError as error:
        print(f"cannot listen on {settings.bind} port {settings.port}: {error.strerror}", file=sys.stderr)
        return 1
    threading.Thread(target=server.serve_forever, name="acceptor", daemon=True).start()
    log("listening", service=settings.service_name, address=settings.bind, port=server.server_address[1],
        workers=settings.workers, python=sys.version.split()[0])
    received = signal.Signals(signal.sigwait(STOP_SIGNALS))
    log("stopping", signal=received.name, grace_seconds=settings.shutdown_grace_seconds)
    finished = server.stop()
    log("stopped", all_requests_finished=finished)
    return 0 if finished else 1


if __name__ == "__main__":
    sys.exit(main())
