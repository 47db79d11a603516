"""The web service's Dockerfile, read as Docker would read it (no Docker engine here to build it)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from app.web.process import ServerProcess
from components.service import HEALTH_CHECK_SCRIPT

WEB = Path(__file__).resolve().parents[2] / "app" / "web"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            pairs.append((keyword.upper(), arguments.strip()))
    return pairs


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return instructions((WEB / "Dockerfile").read_text())


def arguments_of(dockerfile, keyword: str) -> list[str]:
    return [arguments for found, arguments in dockerfile if found == keyword]


def healthcheck_command(dockerfile) -> list[str]:
    (healthcheck,) = arguments_of(dockerfile, "HEALTHCHECK")
    return json.loads(healthcheck.split(" CMD ", 1)[1])


def test_the_base_image_is_pinned_to_a_patch_release_or_digest(dockerfile):
    (base,) = arguments_of(dockerfile, "FROM")
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", base)


def test_the_service_runs_as_a_numeric_non_root_user(dockerfile):
    users = arguments_of(dockerfile, "USER")
    assert users, "no USER: the container would run as root"
    user, _, group = users[-1].partition(":")
    assert user.isdigit() and int(user) > 0
    assert not group or (group.isdigit() and int(group) > 0)


def test_only_the_server_is_copied_and_nothing_is_fetched(dockerfile):
    assert arguments_of(dockerfile, "ADD") == []
    assert arguments_of(dockerfile, "COPY") == ["server.py /app/server.py"]
    assert arguments_of(dockerfile, "RUN") == []  # nothing installed: the service needs the standard library only


def test_the_image_listens_on_8080_and_stops_on_sigterm(dockerfile):
    assert arguments_of(dockerfile, "EXPOSE") == ["8080"]
    assert arguments_of(dockerfile, "STOPSIGNAL") == ["SIGTERM"]


def test_the_command_is_in_exec_form_so_the_service_itself_receives_sigterm(dockerfile):
    (command,) = arguments_of(dockerfile, "CMD")
    assert json.loads(command) == ["python", "/app/server.py"]
    assert arguments_of(dockerfile, "ENTRYPOINT") == []


def test_python_writes_no_bytecode_on_the_read_only_root(dockerfile):
    assert any("PYTHONDONTWRITEBYTECODE=1" in env for env in arguments_of(dockerfile, "ENV"))


def test_the_build_context_holds_only_the_server():
    lines = [line for line in (WEB / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert lines == ["*", "!server.py"]


def test_the_healthcheck_is_the_one_ecs_runs_from_the_task_definition(dockerfile):
    assert healthcheck_command(dockerfile) == ["python", "-c", HEALTH_CHECK_SCRIPT]


def test_the_healthcheck_passes_against_a_running_service(dockerfile):
    command = [sys.executable, *healthcheck_command(dockerfile)[1:]]
    with ServerProcess() as server:
        finished = subprocess.run(command, env={"PORT": str(server.port)}, capture_output=True, timeout=30)
    assert finished.returncode == 0, finished.stderr


def test_the_healthcheck_fails_when_nothing_listens(dockerfile):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        free_port = unused.getsockname()[1]
    command = [sys.executable, *healthcheck_command(dockerfile)[1:]]
    finished = subprocess.run(command, env={"PORT": str(free_port)}, capture_output=True, timeout=30)
    assert finished.returncode != 0
