"""The policy pack over gRPC on a synthetic stack: resources per second and peak memory.

The synthetic stack is the prod stack's real recording (every layer on: ~30 resource types) copied
until it holds ``--resources`` resources, each copy with its own names, URNs and IDs, so that stack
policies join copies to themselves as they would in one big stack.

    python -m bench.pack_throughput                      # 1,000 and 10,000 resources, and their ratio
    python -m bench.pack_throughput --resources 3000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import resource
import time
from pathlib import Path

from preflight.analyzer import PolicyPackProcess, violations_of
from preflight.recorder import RecordedResource, Recording, run_program
from preflight.stackfiles import read_stack_files

ROOT = Path(__file__).resolve().parent.parent


def recorded_stack(stack: str) -> tuple[Recording, dict[str, str]]:
    files = read_stack_files(ROOT, stack)
    return run_program(ROOT, files.project, stack, files.config, files.secret_keys, files.main), files.config


def copy_of(resources: list[RecordedResource], suffix: str) -> list[RecordedResource]:
    """The resources with every name, URN and ID made unique to this copy, references included."""
    ids = sorted({r.id for r in resources if r.id and len(r.id) > 6}, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(i) for i in ids)) if ids else None

    def renamed(value):
        text = json.dumps(value)
        text = re.sub(r"(urn:pulumi:[^\"]*?::[^\"]*?::[^\"]*?::)([^\":]+)", rf"\1\2{suffix}", text)
        if pattern:
            text = pattern.sub(lambda m: m.group(0) + suffix, text)
        return json.loads(text)

    copies = []
    for r in resources:
        if r.type.startswith("pulumi:providers:"):
            continue
        copies.append(dataclasses.replace(
            r, urn=renamed(r.urn), name=r.name + suffix, parent=renamed(r.parent), id=renamed(r.id),
            inputs=renamed(r.inputs), outputs=renamed(r.outputs), dependencies=renamed(r.dependencies),
            property_dependencies=renamed(r.property_dependencies)))
    return copies


def synthetic(recording: Recording, count: int) -> Recording:
    providers = [r for r in recording.resources if r.type.startswith("pulumi:providers:")]
    resources = list(recording.resources)
    copy = 1
    while len(resources) < count:
        resources += copy_of(recording.resources, f"-c{copy}")
        copy += 1
    kept = providers + [r for r in resources if not r.type.startswith("pulumi:providers:")][:count - len(providers)]
    return Recording(recording.project, recording.stack, kept)


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(count: int, stack: str = "prod", workers: int = 8) -> dict[str, float]:
    base, config = recorded_stack(stack)
    recording = synthetic(base, count)
    types = len({r.type for r in recording.resources})
    with PolicyPackProcess(ROOT / "policies", recording.project, recording.stack, config) as pack:
        info = pack.info()
        pack.configure(info, {"all": "mandatory"})
        started = time.perf_counter()
        responses = pack.analyze_all(recording, workers=workers)
        analyzed = time.perf_counter()
        stack_response = pack.analyze_stack(recording)
        finished = time.perf_counter()
        pack_peak = peak_rss_mib(pack._process.pid)
    pairs = [*zip([r.urn for r in recording.resources], responses, strict=True), ("", stack_response)]
    findings = violations_of(pairs, info, recording.by_urn())
    return {
        "resources": len(recording.resources), "types": types, "policies": len(info.policies),
        "analyze_s": analyzed - started, "analyze_stack_s": finished - analyzed, "total_s": finished - started,
        "resources_per_s": len(recording.resources) / (finished - started),
        "pack_peak_rss_mib": pack_peak,
        "client_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "findings": len(findings),
    }


def printed(figures: dict[str, float]) -> None:
    print(f"policy pack over gRPC: {figures['resources']} resources of {figures['types']} types, "
          f"{figures['policies']} policies")
    print(f"  Analyze (per resource): {figures['analyze_s']:.2f} s")
    print(f"  AnalyzeStack (once):    {figures['analyze_stack_s']:.2f} s")
    print(f"  total:                  {figures['total_s']:.2f} s = {figures['resources_per_s']:.0f} resources/s")
    print(f"  peak RSS: pack {figures['pack_peak_rss_mib']:.0f} MiB, client {figures['client_peak_rss_mib']:.0f} MiB")
    print(f"  findings: {figures['findings']}")


def scaling(small: dict[str, float], large: dict[str, float]) -> str:
    """How the time grew against the size: linear scaling keeps the time ratio near the size ratio."""
    size = large["resources"] / small["resources"]
    return (f"scaling: {large['resources']} resources took {large['total_s'] / small['total_s']:.1f} times the time "
            f"of {small['resources']} ({size:.0f} times the resources); AnalyzeStack "
            f"{large['analyze_stack_s'] / small['analyze_stack_s']:.1f} times")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pack_throughput", description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, nargs="+", default=[1_000, 10_000],
                        help="stack sizes to measure in this run; with two or more, also the ratio of the "
                             "largest's time to the smallest's (default: 1000 10000)")
    parser.add_argument("--workers", type=int, default=8, help="concurrent Analyze calls, as the preflight makes")
    args = parser.parse_args(argv)
    results = []
    for count in args.resources:
        results.append(measure(count, workers=args.workers))
        printed(results[-1])
    if len(results) > 1:
        ordered = sorted(results, key=lambda f: f["resources"])
        print(scaling(ordered[0], ordered[-1]))


if __name__ == "__main__":
    main()
