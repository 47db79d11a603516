"""Run the web service as a child process on a free port: for the tests, the benchmark and local runs.

    with ServerProcess({"GREETING": "Hi"}) as server:
        urllib.request.urlopen(server.url("/health"))
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

SERVER_SCRIPT = Path(__file__).resolve().parent / "server.py"


class ServerProcess:
    """The service in a child process, started by ``with``; its output is collected line by line as it comes,
    so that a busy service never blocks on a full pipe."""

    def __init__(self, env: Mapping[str, str] | None = None, python: str = sys.executable,
                 start_timeout: float = 10.0) -> None:
        self.env = {"PATH": os.environ.get("PATH", ""), "PORT": "0", "BIND": "127.0.0.1", **(env or {})}
        self.python = python
        self.start_timeout = start_timeout
        self.port = 0
        self._stdout: list[str] = []
        self._stderr: list[str] = []
        self._lines_changed = threading.Condition()
        self._stdout_ended = threading.Event()

    def __enter__(self) -> ServerProcess:
        self.process = subprocess.Popen(
            [self.python, str(SERVER_SCRIPT)], env=self.env, text=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for stream, lines, ended in ((self.process.stdout, self._stdout, self._stdout_ended),
                                     (self.process.stderr, self._stderr, threading.Event())):
            threading.Thread(target=self._collect, args=(stream, lines, ended), daemon=True).start()
        listening = self.wait_for_log(lambda entry: entry.get("event") == "listening", self.start_timeout)
        if listening is None:
            self.__exit__(None, None, None)
            raise RuntimeError(f"the service did not start: {self.stderr().strip()!r}")
        self.port = listening["port"]
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def _collect(self, stream, lines: list[str], ended: threading.Event) -> None:
        for line in stream:
            with self._lines_changed:
                lines.append(line)
                self._lines_changed.notify_all()
        with self._lines_changed:
            ended.set()
            self._lines_changed.notify_all()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self, signal_number: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send the signal and return the exit code (TimeoutExpired if the service outlives the timeout)."""
        self.process.send_signal(signal_number)
        return self.process.wait(timeout)

    def output_lines(self) -> list[str]:
        """Everything written to stdout so far, one string per line."""
        with self._lines_changed:
            return list(self._stdout)

    def logs(self) -> list[dict]:
        """The stdout lines so far, parsed as the JSON log entries that they should be."""
        return [json.loads(line) for line in self.output_lines()]

    def requests_logged(self) -> list[dict]:
        return [entry for entry in self.logs() if entry.get("event") == "request"]

    def stderr(self) -> str:
        with self._lines_changed:
            return "".join(self._stderr)

    def wait_for_log(self, matches, timeout: float = 10.0) -> dict | None:
        """The first log entry that ``matches``, waiting up to ``timeout`` seconds for it; None if none came."""

        def found() -> dict | None:
            for line in self._stdout:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if matches(entry):
                    return entry
            return None

        with self._lines_changed:
            self._lines_changed.wait_for(lambda: found() is not None or self._stdout_ended.is_set(), timeout)
            return found()
