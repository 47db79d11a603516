"""The preflight on a program that is not this project: run in its own directory, with the pack's default levels,
and with the checks a project declares as its preflight hooks (this project's config check is one such)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOREIGN = ROOT / "tests" / "fixtures" / "foreign"


def preflight(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "preflight", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})


def levels(document: dict) -> dict[str, str]:
    return {v["policy"]: v["enforcementLevel"] for v in document["violations"]}


class ShopRun(NamedTuple):
    returncode: int
    stdout: str
    stderr: str
    junit: Path


@pytest.fixture(scope="module")
def shop_in_its_directory(tmp_path_factory) -> ShopRun:
    """The foreign shop, copied away from this repository and checked from its own directory, no flags."""
    shop = tmp_path_factory.mktemp("work") / "shop"
    shutil.copytree(FOREIGN, shop)
    run = preflight("--stack", "shop", "--format", "json", "--junit", "out.xml", cwd=shop)
    return ShopRun(run.returncode, run.stdout, run.stderr, shop / "out.xml")


def test_a_program_is_checked_in_the_current_directory_by_default(shop_in_its_directory):
    assert shop_in_its_directory.returncode == 1, shop_in_its_directory.stderr
    assert json.loads(shop_in_its_directory.stdout)["project"] == "foreign-shop"


def test_a_foreign_program_gets_the_pack_default_levels_not_this_projects(shop_in_its_directory):
    document = json.loads(shop_in_its_directory.stdout)
    found = levels(document)
    # The pack's default; this project's dev.json makes it advisory.
    assert found["ebs-volumes-backed-up"] == "mandatory"
    assert document["policyPacks"][0]["config"] is None


def test_this_projects_waivers_do_not_follow_a_foreign_program(shop_in_its_directory):
    assert "waivers-match-resources" not in levels(json.loads(shop_in_its_directory.stdout))


def test_junit_skips_a_policy_that_judged_none_of_a_foreign_programs_resources(shop_in_its_directory):
    cases = {c.get("name"): c for c in ET.parse(shop_in_its_directory.junit).getroot().iter("testcase")}
    # The shop has no security group: the SSH policy judged nothing and did not pass.
    assert "judged no resource" in cases["no-world-ssh"].find("skipped").get("message")
    assert cases["ebs-volumes-backed-up"].find("failure") is not None


def test_the_policy_config_flag_sets_a_foreign_programs_levels(tmp_path):
    config = tmp_path / "levels.json"
    config.write_text(json.dumps({"all": "advisory", "ec2-detailed-monitoring": "mandatory"}))
    run = preflight("--stack", "shop", "--project-dir", str(FOREIGN), "--policy-config", str(config),
                    "--format", "json")
    assert run.returncode == 1, run.stderr
    document = json.loads(run.stdout)
    assert {p for p, level in levels(document).items() if level == "mandatory"} == {"ec2-detailed-monitoring"}
    assert document["policyPacks"][0]["config"] == str(config)


def test_the_text_report_says_which_levels_applied():
    run = preflight("--stack", "dev")
    assert "(local: policies; levels: policies/config/dev.json)" in run.stdout


# --- A project's own hooks -----------------------------------------------------------------------------------

PROGRAM = """
    import pulumi
    import pulumi_aws as aws
    aws.cloudwatch.LogGroup("jobs", retention_in_days=int(pulumi.Config().require("retention")))
"""

HOOKS = """
    def validate(config, stack, secret_keys):
        retention = config.get("queues:retention", "")
        if not retention.isdigit():
            raise ValueError(f"queues:retention = {retention!r}: a number of days; allowed: 1 to 3653")
        return {"retention": int(retention), "stack": stack}

    def readiness(validated):
        return [{"key": "queues:retention", "value": str(validated["retention"]),
                 "message": "the auditors must read the logs within " + str(validated["retention"]) + " days"}]

    def policy_config(validated):
        return "levels/" + validated["stack"] + ".json"
"""


def project_with_hooks(directory: Path, hooks: str = HOOKS, retention: str = "3",
                       declaration: str = 'hooks = "queue_checks"') -> Path:
    directory.mkdir(parents=True)
    (directory / "Pulumi.yaml").write_text("name: queues\nruntime: python\n")
    (directory / "Pulumi.t.yaml").write_text(f"config:\n  aws:region: eu-west-1\n  queues:retention: '{retention}'\n")
    (directory / "__main__.py").write_text(textwrap.dedent(PROGRAM))
    (directory / "pyproject.toml").write_text(f"[tool.pulumi-preflight]\n{declaration}\n")
    (directory / "queue_checks.py").write_text(textwrap.dedent(hooks))
    (directory / "levels").mkdir()
    (directory / "levels" / "t.json").write_text(json.dumps({"all": "disabled"}))
    return directory


def test_a_projects_config_check_refuses_a_bad_value_with_its_own_message_and_exit_2(tmp_path):
    project = project_with_hooks(tmp_path / "queues", retention="four days")
    run = preflight("--stack", "t", "--project-dir", str(project))
    assert run.returncode == 2
    assert run.stderr == "error: queues:retention = 'four days': a number of days; allowed: 1 to 3653\n"


def test_a_projects_hooks_give_its_policy_config_and_its_deploy_readiness(tmp_path):
    project = project_with_hooks(tmp_path / "queues")
    run = preflight("--stack", "t", "--project-dir", str(project), "--format", "json")
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["policyPacks"][0]["config"] == str(project / "levels" / "t.json")
    assert document["violations"] == []  # levels/t.json disables every policy
    assert document["readiness"] == [{"key": "queues:retention", "value": "3",
                                      "message": "the auditors must read the logs within 3 days"}]


def test_the_policy_config_flag_wins_over_the_projects_own(tmp_path):
    project = project_with_hooks(tmp_path / "queues")
    (tmp_path / "mine.json").write_text(json.dumps({"all": "mandatory"}))
    run = preflight("--stack", "t", "--project-dir", str(project), "--policy-config", str(tmp_path / "mine.json"),
                    "--format", "json")
    assert run.returncode == 1, run.stderr
    document = json.loads(run.stdout)
    assert document["policyPacks"][0]["config"] == str(tmp_path / "mine.json")
    assert "log-group-retention-minimum" in levels(document)


def test_a_hook_that_fails_for_another_reason_is_named_without_a_traceback(tmp_path):
    broken = HOOKS.replace('return {"retention"', 'return {"retention": config["queues:missing"], "r"')
    project = project_with_hooks(tmp_path / "queues", hooks=broken)
    run = preflight("--stack", "t", "--project-dir", str(project))
    assert run.returncode == 2
    assert "the project's preflight hook queue_checks.validate failed: KeyError: 'queues:missing'" in run.stderr
    assert "Traceback" not in run.stderr


def test_declared_hooks_that_cannot_be_imported_exit_2_naming_the_module(tmp_path):
    project = project_with_hooks(tmp_path / "queues", declaration='hooks = "no_such_checks"')
    run = preflight("--stack", "t", "--project-dir", str(project))
    assert run.returncode == 2
    assert "declares the preflight hooks 'no_such_checks', which cannot be imported from" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_hooks_declaration_that_is_not_a_module_name_exits_2_saying_what_is_allowed(tmp_path):
    project = project_with_hooks(tmp_path / "queues", declaration='hooks = "checks/queue.py"')
    run = preflight("--stack", "t", "--project-dir", str(project))
    assert run.returncode == 2
    assert "[tool.pulumi-preflight] hooks = 'checks/queue.py' is not a module name; allowed: a dotted" in run.stderr
