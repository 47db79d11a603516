"""``pulumi-preflight --stack dev`` (or ``python -m preflight``): an offline ``pulumi preview`` of the Pulumi Python
program in the current directory, with the policy pack as gate.

Exit codes: 0 no mandatory violation, 1 a mandatory violation, 2 a config, program or pack error.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from .analyzer import PolicyPackError, StartingPack
from .compare import CompareError, compare, load_base
from .configreads import recording_config_reads, refuse_unread_keys
from .cost import UsageError, estimate, load_usage
from .diagram import DiagramError, draw
from .hooks import ConfigRejected, HookError, load_hooks
from .invokes import InvokeAnswersError, load_invoke_answers, load_stack_outputs
from .jsonfile import read_json
from .readiness import placeholder_values
from .recorder import PREVIEW_AS, ProgramError, run_program
from .report import RENDERERS, Result
from .stackfiles import StackFileError, read_stack_files

# The pack is installed beside the preflight (site-packages/policies), as it lies beside it in this repository.
PACK_DIR = Path(__file__).resolve().parent.parent / "policies"
EXIT_PASSED, EXIT_VIOLATIONS, EXIT_ERROR = 0, 1, 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pulumi-preflight", description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default dev)")
    parser.add_argument("--format", choices=sorted(RENDERERS), default="text", help="report format")
    parser.add_argument("--output", type=Path, help="write the report to this file instead of stdout")
    for name in sorted(RENDERERS):
        parser.add_argument(f"--{name}", type=Path, metavar="FILE", dest=f"{name}_file",
                            help=f"also write the {name} report to FILE (any number of these in one run)")
    parser.add_argument("--source-root", type=Path,
                        help="directory SARIF paths are relative to (default: the git work tree of the project)")
    parser.add_argument("--policy-pack", type=Path, default=PACK_DIR,
                        help="policy pack dir (default: the aws-compute-guardrails pack installed with the preflight)")
    parser.add_argument("--policy-config", type=Path, metavar="FILE.json",
                        help="policy config JSON: enforcement levels and settings per policy, as pulumi's "
                             "--policy-pack-config (default: the project's own when its preflight hooks declare "
                             "one, else the pack's default levels)")
    parser.add_argument("--project-dir", type=Path, default=Path("."),
                        help="directory holding Pulumi.yaml and the stack files (default: the current directory)")
    parser.add_argument("--usage", type=_checked(load_usage), metavar="FILE",
                        help="usage assumptions for the cost estimate (YAML or JSON)")
    parser.add_argument("--compare", type=_checked(load_base), metavar="BASE.json",
                        help="a previous preflight JSON document: report what changed and the monthly cost delta")
    parser.add_argument("--diagram", type=_diagram_path, metavar="FILE.svg",
                        help="draw the recorded stack to this .svg or .png file (needs Graphviz)")
    parser.add_argument("--preview-as", choices=sorted(PREVIEW_AS), default="deployed",
                        help="which preview to reproduce: " + "; ".join(f"{k}: {v}" for k, v in PREVIEW_AS.items()))
    parser.add_argument("--invoke-answers", type=_answers(load_invoke_answers, Path), metavar="FILE.json",
                        help="results for invokes the preflight cannot answer offline: a JSON object mapping each "
                             "token to its result, or to a list of {\"args\": {...}, \"result\": {...}}")
    parser.add_argument("--stack-outputs", type=_answers(load_stack_outputs), action="append", default=[],
                        metavar="NAME=FILE.json",
                        help="outputs of the stack a pulumi.StackReference names (as `pulumi stack output --json` "
                             "prints them); repeatable; a reference without them has unknown outputs")
    return parser.parse_args(argv)


def _answers(load, convert=str):
    def read(text: str):
        try:
            return load(convert(text))
        except InvokeAnswersError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    return read


def _checked(load):
    """An argparse type that reads the file at once, so that a bad usage file or base document exits 2 before the
    program runs; the loaded value keeps its path as ``.path``."""
    def read(text: str):
        try:
            return _Loaded(Path(text), load(Path(text)))
        except (UsageError, CompareError) as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    return read


def _diagram_path(text: str) -> Path:
    if Path(text).suffix.lower() not in (".svg", ".png"):
        raise argparse.ArgumentTypeError(f"{text}: unsupported file type '{Path(text).suffix}'; allowed: .svg, .png")
    return Path(text)


class _Loaded(NamedTuple):
    path: Path
    value: dict


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_ERROR


def load_policy_config(path: Path | None) -> dict:
    """The policy config file's levels and settings; none (the pack's defaults) without a file."""
    if path is None:
        return {}
    loaded = read_json(path, "policy config", PolicyPackError)
    if not isinstance(loaded, dict):
        raise PolicyPackError(f"policy config {path} must be a JSON object")
    return loaded


def run(args: argparse.Namespace) -> Result:
    project_dir = args.project_dir.resolve()
    files = read_stack_files(project_dir, args.stack)
    hooks = load_hooks(project_dir)
    validated = hooks.validate(files.config, args.stack, files.secret_keys)  # config errors come first
    policy_config_path = args.policy_config or hooks.policy_config(validated, project_dir)
    policy_config = load_policy_config(policy_config_path)
    # The pack starts while the program runs; a program error still comes before the pack's.
    with StartingPack(args.policy_pack, files.project, args.stack, files.config, policy_config,
                      _shown_path(policy_config_path)) as pack:
        with recording_config_reads() as reads:
            recording = run_program(files.project_dir, files.project, args.stack, files.config,
                                    files.secret_keys, files.main, preview_as=args.preview_as,
                                    invoke_answers=args.invoke_answers, stack_outputs=dict(args.stack_outputs))
        refuse_unread_keys(files, reads, (r.type for r in recording.resources))
        result = Result(recording, [pack.analyze(recording)])
    # Placeholders (any program) and the project's own prerequisites; they inform, never change the exit code.
    result.readiness = placeholder_values(files.config, files.secret_keys) + hooks.readiness(validated)
    add_cost_compare_diagram(args, result)
    return result


def _shown_path(path: Path | None) -> str:
    """A path as the report shows it: relative to the current directory when under it."""
    if path is None:
        return ""
    absolute = path.absolute()
    return str(absolute.relative_to(Path.cwd())) if absolute.is_relative_to(Path.cwd()) else str(path)


class ReportError(Exception):
    """A report cannot be written where it was asked for."""


def reports_wanted(args: argparse.Namespace) -> dict[Path | None, str]:
    """Each destination and the format written there; ``None`` is stdout."""
    wanted: dict[Path | None, str] = {args.output: args.format}
    for name in RENDERERS:
        path = getattr(args, f"{name}_file")
        if path is None:
            continue
        if path in wanted and wanted[path] != name:
            raise ReportError(f"{path} is given for both the {wanted[path]} and the {name} report")
        wanted[path] = name
    return wanted


def write_reports(result: Result, wanted: dict[Path | None, str]) -> None:
    for path, name in wanted.items():
        if path is None:
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(RENDERERS[name](result))
        except OSError as error:
            raise ReportError(f"cannot write the {name} report to {path}: {error.strerror}") from None
    if None in wanted:
        sys.stdout.write(RENDERERS[wanted[None]](result))


def add_cost_compare_diagram(args: argparse.Namespace, result: Result) -> None:
    """The cost estimate always; the change against a base and the picture when asked for."""
    result.cost = estimate(result.recording, usage=args.usage.value if args.usage else None)
    if args.compare:
        head = json.loads(RENDERERS["json"](result))
        result.comparison = compare(args.compare.value, head, args.compare.path.name)
    if args.diagram:
        draw(result.recording, args.diagram)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    try:
        wanted = reports_wanted(args)
        with fewer_collections():
            result = run(args)
        result.seconds = time.monotonic() - started
        result.source_root = str(args.source_root or "")
        write_reports(result, wanted)
    except (StackFileError, ConfigRejected, HookError, ProgramError, PolicyPackError, DiagramError,
            ReportError) as error:
        return fail(str(error))
    return EXIT_PASSED if result.passed else EXIT_VIOLATIONS


@contextmanager
def fewer_collections() -> Iterator[None]:
    """A program run allocates hundreds of thousands of objects that live until the end (the provider SDK's
    modules, every resource and output): with the default threshold the collector traverses them about a
    thousand times in a run, for nothing. A larger first threshold keeps cycles collected, twenty times less often."""
    saved = gc.get_threshold()
    gc.set_threshold(50_000, *saved[1:])
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def console() -> None:
    """The entry point of ``pulumi-preflight`` and ``python -m preflight``: main(), then an exit that skips the
    interpreter's teardown, which frees every object of the provider SDK one by one (seconds) for a process that
    is ending anyway. The reports are written and closed and the pack stopped before main() returns."""
    exit_without_teardown(main())


def exit_without_teardown(code: int) -> None:
    """Flush and exit at once: a program run leaves the SDK's modules, threads and event loops behind, and the
    interpreter's teardown frees them one by one (seconds) and can trip over a closed loop's selector."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
