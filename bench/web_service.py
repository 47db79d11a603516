"""The web service under load on 127.0.0.1: requests per second and latency percentiles.

Each of ``--connections`` clients keeps one connection alive (as a load balancer does) and sends its
share of ``--requests`` GET requests one after another. The service runs as a child process with its
default settings, as user data and the container start it.

    python -m bench.web_service --connections 200 --requests 20000
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import threading
import time
from dataclasses import dataclass, field

from app.web.process import ServerProcess


@dataclass
class LoadResult:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.latencies) + len(self.errors)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


def client(port: int, count: int, path: str, result: LoadResult, lock: threading.Lock) -> None:
    """One kept-alive connection sending ``count`` requests; a failed request reconnects and goes on."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, errors = [], []
    for _ in range(count):
        started = time.perf_counter()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                latencies.append(time.perf_counter() - started)
            else:
                errors.append(f"status {response.status}")
        except (OSError, http.client.HTTPException) as error:
            errors.append(f"{type(error).__name__}: {error}")
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.close()
    with lock:
        result.latencies += latencies
        result.errors += errors


def run_load(port: int, connections: int, requests: int, path: str = "/") -> LoadResult:
    result, lock = LoadResult(), threading.Lock()
    per_client = [requests // connections + (1 if i < requests % connections else 0) for i in range(connections)]
    threads = [threading.Thread(target=client, args=(port, n, path, result, lock)) for n in per_client]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.web_service", description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--path", default="/")
    args = parser.parse_args(argv)
    with ServerProcess() as server:
        run_load(server.port, 10, 500, args.path)  # warm up
        result = run_load(server.port, args.connections, args.requests, args.path)
    ms = 1000
    print(f"web service on 127.0.0.1: {result.requests} GET {args.path} over {args.connections} kept-alive "
          f"connections (client and service share this machine's {_cpus()} CPUs)")
    print(f"  {result.requests / result.seconds:.0f} requests/s in {result.seconds:.2f} s, {len(result.errors)} errors")
    print(f"  latency: median {statistics.median(result.latencies) * ms:.2f} ms, "
          f"p90 {result.percentile(90) * ms:.2f} ms, p99 {result.percentile(99) * ms:.2f} ms, "
          f"max {max(result.latencies) * ms:.2f} ms")


def _cpus() -> int:
    import os
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
