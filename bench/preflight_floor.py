"""The preflight of a stack against its floor: the same program run bare under mocks, each in a fresh process.

The floor is what any offline check must pay: the interpreter, the SDK and provider imports, and the program
registering every resource under the SDK's own MockMonitor with the preflight's fake cloud answering invokes. The
preflight adds the recorder, the policy pack (started while the program runs), the analysis and the reports.
Runs alternate so that a busy machine slows both alike; the medians of wall time and of CPU time (the process and
its children: the pack) and their ratios are printed.

The preflight runs with a larger garbage collector threshold and exits without the interpreter's teardown
(preflight/cli.py console()); the floor, as a user runs a program, does neither. A third figure, the floor given
the same two, shows what the pack, the analysis and the reports themselves still cost.

    python -m bench.preflight_floor --stack prod --runs 3
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.25

# The program as a unit test runs it: pulumi.runtime.set_mocks, the stack's config, the program in its stack.
FLOOR = """
import os, runpy, sys
from pathlib import Path
import pulumi
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await
from preflight.recorder import FakeCloud
from preflight.stackfiles import read_stack_files

project_dir = Path(sys.argv[1]).resolve()
files = read_stack_files(project_dir, sys.argv[2])
pulumi.runtime.set_mocks(FakeCloud(files.config.get("aws:region", "us-east-1")), project=files.project,
                         stack=files.stack, preview=False)
pulumi.runtime.settings.ROOT.set(None)
pulumi.runtime.set_all_config(dict(files.config), list(files.secret_keys))
os.chdir(project_dir)
sys.path.insert(0, str(project_dir))
_sync_await(run_in_stack(lambda: runpy.run_path(str(project_dir / files.main), run_name="__main__")))
"""
TUNED = "import gc, os\ngc.set_threshold(50_000, 10, 10)\n" + FLOOR + "sys.stdout.flush()\nos._exit(0)\n"


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, children included) of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(stack: str, runs: int) -> dict[str, tuple[float, float]]:
    commands = {
        "floor": [sys.executable, "-c", FLOOR, str(ROOT), stack],
        "tuned floor": [sys.executable, "-c", TUNED, str(ROOT), stack],
        "preflight": [sys.executable, "-m", "preflight", "--stack", stack, "--format", "json", "--output", "/dev/null"],
    }
    for command in commands.values():
        timed(command)  # warm the file cache and the byte code
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            samples[name].append(timed(command))
    return {name: (statistics.median(w for w, _ in taken), statistics.median(c for _, c in taken))
            for name, taken in samples.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    figures = measure(args.stack, args.runs)
    print(f"preflight of the {args.stack} stack against its floor (median of {args.runs} fresh processes each)")
    print(f"  {'':44s} {'wall s':>7s} {'cpu s':>7s}")
    for name, label in (("floor", "floor (the program bare under mocks)"),
                        ("tuned floor", "floor, with the preflight's gc and exit"),
                        ("preflight", "preflight (pack, analysis, reports)")):
        wall, cpu = figures[name]
        print(f"  {label:44s} {wall:7.2f} {cpu:7.2f}")
    for base in ("floor", "tuned floor"):
        print(f"  preflight / {base}: wall {figures['preflight'][0] / figures[base][0]:.2f}, "
              f"cpu {figures['preflight'][1] / figures[base][1]:.2f}"
              + (f" (goal: wall at most {GOAL})" if base == "floor" else ""))


if __name__ == "__main__":
    main()
