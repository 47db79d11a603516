"""The pack starts while the program runs: the errors still come in the order a user reads them, and no pack
process outlives the run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PACK = """
    from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy

    def nothing_public(args, report_violation):
        if args.props.get("policy") == "public":
            report_violation("public")

    PolicyPack(name="generic", enforcement_level=EnforcementLevel.MANDATORY, policies=[
        ResourceValidationPolicy(name="nothing-public", description="Nothing is public.", validate=nothing_public)])
"""


def preflight(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "preflight", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})


def program(directory: Path, text: str) -> Path:
    directory.mkdir()
    (directory / "Pulumi.yaml").write_text("name: small\nruntime: python\n")
    (directory / "Pulumi.t.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    (directory / "__main__.py").write_text(textwrap.dedent(text))
    return directory


def pack(directory: Path, text: str = PACK) -> Path:
    directory.mkdir()
    (directory / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n")
    (directory / "__main__.py").write_text(textwrap.dedent(text))
    return directory


def processes_naming(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if any(text.encode() in word for word in words):
            found.append(b" ".join(words).decode(errors="replace"))
    return found


def test_a_program_error_comes_before_the_packs_own_error(tmp_path):
    broken_program = program(tmp_path / "small", "raise RuntimeError('the program broke')\n")
    broken_pack = pack(tmp_path / "pack", "raise SystemExit('the pack broke')\n")
    run = preflight("--stack", "t", "--project-dir", str(broken_program), "--policy-pack", str(broken_pack))
    assert run.returncode == 2
    assert "the program broke" in run.stderr and "the pack broke" not in run.stderr


def test_a_pack_that_cannot_start_is_an_error_after_a_good_program(tmp_path):
    good_program = program(tmp_path / "small", "import pulumi_aws as aws\naws.sns.Topic('alerts')\n")
    broken_pack = pack(tmp_path / "pack", "raise SystemExit('the pack broke')\n")
    run = preflight("--stack", "t", "--project-dir", str(good_program), "--policy-pack", str(broken_pack))
    assert run.returncode == 2
    assert "did not start: the pack broke" in run.stderr and "Traceback" not in run.stderr


def test_no_pack_process_outlives_a_failed_program(tmp_path):
    broken_program = program(tmp_path / "small", "raise RuntimeError('the program broke')\n")
    started_pack = pack(tmp_path / "pack-that-starts")
    (tmp_path / "config.json").write_text("{}")
    run = preflight("--stack", "t", "--project-dir", str(broken_program), "--policy-pack", str(started_pack),
                    "--policy-config", str(tmp_path / "config.json"))
    assert run.returncode == 2 and "the program broke" in run.stderr
    assert processes_naming(str(started_pack)) == []


def test_no_pack_process_outlives_a_passed_run(tmp_path):
    good_program = program(tmp_path / "small", "import pulumi_aws as aws\naws.sns.Topic('alerts')\n")
    started_pack = pack(tmp_path / "pack-that-starts")
    (tmp_path / "config.json").write_text("{}")
    run = preflight("--stack", "t", "--project-dir", str(good_program), "--policy-pack", str(started_pack),
                    "--policy-config", str(tmp_path / "config.json"))
    assert run.returncode == 0, run.stderr
    assert processes_naming(str(started_pack)) == []
