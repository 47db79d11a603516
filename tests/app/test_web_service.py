"""The web service, run as a child process and spoken to over HTTP on 127.0.0.1, the way a load balancer would."""

from __future__ import annotations

import http.client
import json
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.web.process import SERVER_SCRIPT, ServerProcess

PYTHON_39 = Path("/root/.pyenv/versions/3.9.18/bin/python3")


@pytest.fixture
def server():
    with ServerProcess({"GREETING": "Hi there", "SERVICE_NAME": "shop", "ENVIRONMENT": "test",
                        "TASK_ID": "task-1234"}) as running:
        yield running


def connect(server: ServerProcess) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)


def get(server: ServerProcess, path: str, method: str = "GET") -> tuple[http.client.HTTPResponse, bytes]:
    connection = connect(server)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


def raw_exchange(server: ServerProcess, request: bytes) -> bytes:
    """Send bytes as they are and read until the service closes the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        return read_until_closed(sock)


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def requests_logged_once_written(server: ServerProcess, count: int, timeout: float = 10) -> list[dict]:
    """The request log entries, once ``count`` have been written: each is written just after its response."""
    deadline = time.monotonic() + timeout
    while len(server.requests_logged()) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return server.requests_logged()


def status_of(raw_response: bytes) -> int:
    return int(raw_response.split(b" ", 2)[1])


# --- Responses ------------------------------------------------------------------------------------------------


def test_root_greets_with_the_settings_from_the_environment(server):
    response, body = get(server, "/")
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/json"
    assert json.loads(body) == {"message": "Hi there", "service": "shop", "environment": "test",
                                "instance": "task-1234"}


def test_health_answers_ok(server):
    response, body = get(server, "/health")
    assert response.status == 200
    assert json.loads(body) == {"status": "ok"}


def test_an_unknown_path_is_a_json_404(server):
    response, body = get(server, "/nowhere")
    assert response.status == 404
    assert json.loads(body) == {"error": "not found"}


def test_the_slow_debug_path_is_not_served_unless_enabled(server):
    response, _ = get(server, "/debug/slow?seconds=0")
    assert response.status == 404


def test_post_is_refused_with_405_and_the_allowed_methods(server):
    response, body = get(server, "/", method="POST")
    assert response.status == 405
    assert response.getheader("Allow") == "GET, HEAD"
    assert json.loads(body) == {"error": "method not allowed"}


def test_head_sends_the_headers_of_get_without_a_body(server):
    raw = raw_exchange(server, b"HEAD / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert status_of(raw) == 200
    assert b"Content-Length: 0" not in head
    assert body == b""


def test_two_requests_share_one_kept_alive_connection(server):
    connection = connect(server)
    try:
        connection.request("GET", "/health")
        first = connection.getresponse()
        first.read()
        first_socket = connection.sock
        connection.request("GET", "/")
        second = connection.getresponse()
        second.read()
        assert (first.status, second.status) == (200, 200)
        assert connection.sock is first_socket  # http.client reconnects silently if the service had closed it
        assert first.getheader("Connection") is None
    finally:
        connection.close()


def test_the_server_header_names_no_software_version(server):
    response, _ = get(server, "/health")
    assert response.getheader("Server") == "shop"


@pytest.mark.parametrize(("path", "status"), [("/api", 200), ("/api/", 200), ("/api/health", 200), ("/health", 200),
                                            ("/api/other", 404), ("/apix/health", 404)])
def test_behind_a_path_rule_the_service_answers_under_its_prefix(path, status):
    with ServerProcess({"PATH_PREFIX": "/api"}) as server:
        assert get(server, path)[0].status == status


def test_concurrent_kept_alive_clients_all_get_answers(server):
    def client(statuses: list[int]) -> None:
        connection = connect(server)
        try:
            for _ in range(40):
                connection.request("GET", "/health")
                response = connection.getresponse()
                response.read()
                statuses.append(response.status)
        finally:
            connection.close()

    results: list[list[int]] = [[] for _ in range(50)]
    clients = [threading.Thread(target=client, args=(statuses,)) for statuses in results]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join(60)
    assert [len(statuses) for statuses in results] == [40] * 50
    assert {status for statuses in results for status in statuses} == {200}


def test_an_idle_kept_alive_connection_is_closed_after_the_idle_timeout():
    with ServerProcess({"IDLE_TIMEOUT_SECONDS": "0.3"}) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        raw = read_until_closed(sock)  # returns only once the service closes the connection
    assert status_of(raw) == 200


# --- Bad requests ---------------------------------------------------------------------------------------------


def test_an_oversized_header_block_is_refused_with_431(server):
    huge = b"".join(b"X-Filler-%d: %s\r\n" % (number, b"a" * 1000) for number in range(70))
    raw = raw_exchange(server, b"GET / HTTP/1.1\r\nHost: test\r\n" + huge + b"\r\n")
    assert status_of(raw) == 431


def test_an_oversized_request_line_is_refused_with_414(server):
    raw = raw_exchange(server, b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: test\r\n\r\n")
    assert status_of(raw) == 414


def test_a_large_body_on_get_is_refused_with_413(server):
    raw = raw_exchange(server, b"GET / HTTP/1.1\r\nHost: test\r\nContent-Length: 1000000\r\n\r\n")
    assert status_of(raw) == 413


def test_a_small_body_on_get_is_skipped_and_the_connection_stays_usable(server):
    raw = raw_exchange(server, b"GET / HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello"
                               b"GET /health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
    assert raw.count(b"HTTP/1.1 200 OK") == 2


def test_garbage_is_answered_with_400_and_the_service_keeps_serving(server):
    raw = raw_exchange(server, b"\x16\x03\x01 this is not http\r\n\r\n")
    assert status_of(raw) == 400
    assert get(server, "/health")[0].status == 200


def test_a_slowloris_client_is_cut_off_after_the_request_timeout():
    with ServerProcess({"REQUEST_TIMEOUT_SECONDS": "0.5"}) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n")
        started = time.monotonic()
        answered = False
        # One header byte every 50 ms: each read is quick, but the request never completes.
        while time.monotonic() - started < 5 and not answered:
            try:
                sock.sendall(b"X")
            except OSError:
                break
            answered = bool(select.select([sock], [], [], 0.05)[0])
        elapsed = time.monotonic() - started
        raw = read_until_closed(sock)
    assert status_of(raw) == 408
    assert 0.4 < elapsed < 3


# --- Configuration ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("variable", "value"), [("PORT", "http"), ("REQUEST_TIMEOUT_SECONDS", "-1"),
                                                 ("BIND", "localhost:80"), ("DEBUG_SLOW_PATH", "yes"),
                                                 ("PATH_PREFIX", "/api/")])
def test_a_bad_environment_variable_exits_2_naming_it(variable, value):
    finished = subprocess.run([sys.executable, str(SERVER_SCRIPT)], env={variable: value}, capture_output=True,
                              text=True, timeout=30)
    assert finished.returncode == 2
    assert variable in finished.stderr
    assert finished.stdout == ""


# --- Shutdown ---------------------------------------------------------------------------------------------------


def test_sigterm_lets_a_request_in_flight_finish_then_exits_0():
    with ServerProcess({"DEBUG_SLOW_PATH": "1", "SHUTDOWN_GRACE_SECONDS": "10"}) as server:
        outcome: dict[str, object] = {}

        def slow_request() -> None:
            response, body = get(server, "/debug/slow?seconds=1")
            outcome.update(status=response.status, body=json.loads(body), connection=response.getheader("Connection"))

        client = threading.Thread(target=slow_request)
        client.start()
        time.sleep(0.3)  # the request is now sleeping inside the service
        exit_code = server.stop(signal.SIGTERM)
        client.join(10)
    assert exit_code == 0
    assert outcome == {"status": 200, "body": {"slept_seconds": 1.0}, "connection": "close"}
    stopped = server.wait_for_log(lambda entry: entry.get("event") == "stopped")
    assert stopped is not None and stopped["all_requests_finished"] is True


def test_sigterm_with_no_request_in_flight_exits_at_once(server):
    started = time.monotonic()
    assert server.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 5


def test_sigterm_closes_idle_kept_alive_connections(server):
    connection = connect(server)
    connection.request("GET", "/health")
    connection.getresponse().read()
    assert server.stop(signal.SIGTERM, timeout=10) == 0
    connection.close()


# --- Logs -------------------------------------------------------------------------------------------------------


def test_each_request_writes_one_json_log_line_without_its_query_string(server):
    get(server, "/health")
    get(server, "/?token=s3cr3t")
    requests = requests_logged_once_written(server, 2)
    server.stop(signal.SIGTERM)
    assert sorted((entry["method"], entry["path"], entry["status"]) for entry in requests) == [
        ("GET", "/", 200), ("GET", "/health", 200)]
    assert all(entry["request_id"] and entry["duration_ms"] >= 0 for entry in requests)
    assert not any("s3cr3t" in line for line in server.output_lines())


def test_every_output_line_is_json(server):
    get(server, "/")
    get(server, "/missing")
    raw_exchange(server, b"nonsense\r\n\r\n")
    requests_logged_once_written(server, 3)
    server.stop(signal.SIGTERM)
    assert server.wait_for_log(lambda entry: entry.get("event") == "stopped") is not None
    assert [json.loads(line)["event"] for line in server.output_lines()] == [
        "listening", "request", "request", "request", "stopping", "stopped"]


# --- Amazon Linux 2023's Python ---------------------------------------------------------------------------------


@pytest.mark.skipif(not PYTHON_39.exists(), reason=f"Amazon Linux 2023's Python 3.9 is not installed at {PYTHON_39}")
def test_the_service_runs_on_python_3_9():
    with ServerProcess({"GREETING": "from 3.9"}, python=str(PYTHON_39)) as server:
        response, body = get(server, "/")
        assert (response.status, json.loads(body)["message"]) == (200, "from 3.9")
        assert get(server, "/health")[0].status == 200
        assert get(server, "/", method="DELETE")[0].status == 405
        listening = server.wait_for_log(lambda entry: entry.get("event") == "listening")
        assert listening["python"].startswith("3.9.")
        assert server.stop(signal.SIGTERM) == 0
