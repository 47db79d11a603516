"""The web service under a bounded concurrent load, with its default settings: no request fails.

Timing is measured by `python -m bench.web_service`, not asserted here.
"""

from __future__ import annotations

from app.web.process import ServerProcess
from bench.web_service import run_load


def test_200_kept_alive_connections_sending_20000_requests_all_get_200():
    with ServerProcess() as server:
        result = run_load(server.port, connections=200, requests=20_000)
        assert server.process.poll() is None, "the service is still running"
    assert result.errors == []
    assert len(result.latencies) == 20_000
