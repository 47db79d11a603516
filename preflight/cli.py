"""``python -m preflight --stack dev``: an offline ``pulumi preview`` with the policy pack as gate.

Exit codes: 0 no mandatory violation, 1 a mandatory violation, 2 a config, program or pack error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from components.config import ConfigError, load_stack_config

from .analyzer import PolicyPackError, run_pack
from .recorder import ProgramError, run_program
from .report import RENDERERS, Result
from .stackfiles import StackFileError, read_stack_files

PROJECT_DIR = Path(__file__).resolve().parent.parent
EXIT_PASSED, EXIT_VIOLATIONS, EXIT_ERROR = 0, 1, 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m preflight", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default dev)")
    parser.add_argument("--format", choices=sorted(RENDERERS), default="text", help="report format")
    parser.add_argument("--output", type=Path, help="write the report to this file instead of stdout")
    for name in sorted(RENDERERS):
        parser.add_argument(f"--{name}", type=Path, metavar="FILE", dest=f"{name}_file",
                            help=f"also write the {name} report to FILE (any number of these in one run)")
    parser.add_argument("--source-root", type=Path,
                        help="directory SARIF paths are relative to (default: the git work tree of the project)")
    parser.add_argument("--policy-pack", type=Path, default=PROJECT_DIR / "policies", help="policy pack dir")
    parser.add_argument("--policy-config", type=Path,
                        help="policy config JSON (default policies/config/<environment>.json)")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR,
                        help="directory holding Pulumi.yaml and the stack files (default: this project)")
    return parser.parse_args(argv)


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_ERROR


def load_policy_config(path: Path) -> dict:
    try:
        loaded = json.loads(path.read_text())
    except FileNotFoundError:
        raise PolicyPackError(f"policy config {path} not found") from None
    except json.JSONDecodeError as error:
        raise PolicyPackError(f"policy config {path} is not valid JSON: {error}") from None
    if not isinstance(loaded, dict):
        raise PolicyPackError(f"policy config {path} must be a JSON object")
    return loaded


def run(args: argparse.Namespace) -> Result:
    files = read_stack_files(args.project_dir.resolve(), args.stack)
    config = load_stack_config(files.config, args.stack)  # config errors come before anything else
    policy_config_path = args.policy_config or args.policy_pack / "config" / f"{config.environment}.json"
    policy_config = load_policy_config(policy_config_path)
    recording = run_program(files.project_dir, files.project, args.stack, files.config, files.secret_keys,
                            files.main)
    pack = run_pack(args.policy_pack, recording, files.config, policy_config)
    return Result(recording, [pack])


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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    try:
        wanted = reports_wanted(args)
        result = run(args)
        result.seconds = time.monotonic() - started
        result.source_root = str(args.source_root or "")
        write_reports(result, wanted)
    except (StackFileError, ConfigError, ProgramError, PolicyPackError, ReportError) as error:
        return fail(str(error))
    return EXIT_PASSED if result.passed else EXIT_VIOLATIONS
