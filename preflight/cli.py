"""``python -m preflight --stack dev``: an offline ``pulumi preview`` with the policy pack as gate.

Exit codes: 0 no mandatory violation, 1 a mandatory violation, 2 a config, program or pack error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from components.config import ConfigError, load_stack_config

from .analyzer import PolicyPackError, run_pack
from .configreads import recording_config_reads, refuse_unread_keys
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


def run(args: argparse.Namespace) -> tuple[int, str]:
    files = read_stack_files(args.project_dir.resolve(), args.stack)
    config = load_stack_config(files.config, args.stack, files.secret_keys)  # config errors come first
    policy_config_path = args.policy_config or args.policy_pack / "config" / f"{config.environment}.json"
    policy_config = load_policy_config(policy_config_path)
    with recording_config_reads() as reads:
        recording = run_program(files.project_dir, files.project, args.stack, files.config, files.secret_keys,
                                files.main)
    refuse_unread_keys(files, reads, (r.type for r in recording.resources))
    pack = run_pack(args.policy_pack, recording, files.config, policy_config)
    result = Result(recording, [pack])
    return (EXIT_PASSED if result.passed else EXIT_VIOLATIONS), RENDERERS[args.format](result)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        code, report = run(args)
    except (StackFileError, ConfigError, ProgramError, PolicyPackError) as error:
        return fail(str(error))
    if args.output:
        args.output.write_text(report)
    else:
        sys.stdout.write(report)
    return code
