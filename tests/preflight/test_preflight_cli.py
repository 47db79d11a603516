"""The preflight end to end, as a user and CI run it: `python -m preflight --stack S` in a fresh process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSECURE = ROOT / "tests" / "fixtures" / "insecure"
CONTRACT_RESOURCE_FIELDS = {"urn", "type", "name", "parent", "custom", "inputs", "dependencies",
                            "propertyDependencies", "options"}
CONTRACT_OPTIONS = {"protect", "retainOnDelete", "ignoreChanges", "deleteBeforeReplace", "provider"}
CONTRACT_VIOLATION_FIELDS = {"policyPack", "policy", "enforcementLevel", "severity", "urn", "resourceType",
                             "resourceName", "message", "tags"}


def preflight(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "preflight", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})


@pytest.fixture(scope="module")
def dev_document() -> dict:
    run = preflight("--stack", "dev", "--format", "json")
    assert run.returncode == 0, run.stderr + run.stdout[-3000:]
    return json.loads(run.stdout)


@pytest.fixture(scope="module")
def insecure_run() -> subprocess.CompletedProcess:
    return preflight("--stack", "insecure", "--project-dir", str(INSECURE), "--format", "json")


def test_the_dev_stack_passes_its_own_pack(dev_document):
    assert dev_document["summary"]["mandatory"] == 0
    assert dev_document["summary"]["passed"] is True


def test_the_prod_stack_passes_its_own_pack_in_text_form():
    run = preflight("--stack", "prod")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
    assert "Policies:" in run.stdout
    assert "preflight PASSED" in run.stdout


def test_the_json_document_keeps_the_contract_fields(dev_document):
    assert {"project", "stack", "resources", "outputs", "policyPacks", "violations", "summary"} <= set(dev_document)
    assert dev_document["project"] == "aws-compute" and dev_document["stack"] == "dev"
    for resource in dev_document["resources"]:
        assert set(resource) >= CONTRACT_RESOURCE_FIELDS
        assert set(resource["options"]) >= CONTRACT_OPTIONS
    for violation in dev_document["violations"]:
        assert set(violation) >= CONTRACT_VIOLATION_FIELDS
    assert {"resources", "mandatory", "advisory"} <= set(dev_document["summary"])
    assert dev_document["summary"]["resources"] == len(dev_document["resources"])


def test_the_json_document_names_the_policy_pack_and_its_version(dev_document):
    [pack] = dev_document["policyPacks"]
    assert pack["name"] == "aws-compute-guardrails"
    assert pack["version"] == "0.1.0"


def test_the_json_document_exports_the_stack_outputs(dev_document):
    assert dev_document["outputs"]["vpcId"].startswith("vpc-")
    assert dev_document["outputs"]["region"] == "us-east-1"


def test_an_insecure_stack_exits_1(insecure_run):
    assert insecure_run.returncode == 1, insecure_run.stderr


def test_an_insecure_stack_names_the_ssh_policy_and_the_resource(insecure_run):
    violations = json.loads(insecure_run.stdout)["violations"]
    ssh = [v for v in violations if v["policy"] == "no-world-ssh"]
    assert [(v["resourceName"], v["enforcementLevel"]) for v in ssh] == [("admin-ssh", "mandatory")]
    assert ssh[0]["urn"] == "urn:pulumi:insecure::aws-compute::aws:ec2/securityGroup:SecurityGroup::admin-ssh"
    assert "0.0.0.0/0" in ssh[0]["message"]


def test_each_violation_carries_the_policys_remediation(insecure_run):
    violations = json.loads(insecure_run.stdout)["violations"]
    ssh = next(v for v in violations if v["policy"] == "no-world-ssh")
    assert "sshCidrs" in ssh["remediation"] and "ssm start-session" in ssh["remediation"]


def test_an_insecure_stack_in_text_form_shows_the_violation_in_the_policies_block():
    run = preflight("--stack", "insecure", "--project-dir", str(INSECURE))
    assert run.returncode == 1
    block = run.stdout.split("Policies:", 1)[1]
    assert "[mandatory] [severity: critical]  no-world-ssh  (aws:ec2:SecurityGroup: admin-ssh)" in block
    assert "          fix: List the admin CIDRs in aws-compute:server.sshCidrs" in block
    assert "preflight FAILED" in run.stdout


def test_an_unknown_config_key_exits_2_naming_it_and_the_closest_key(tmp_path):
    project = copy_project(tmp_path)
    stack_file = project / "Pulumi.branch.yaml"
    stack_file.write_text(stack_file.read_text().replace("network.azCount:", "network.azCont:"))
    run = preflight("--stack", "branch", "--project-dir", str(project))
    assert run.returncode == 2
    assert "aws-compute:network.azCont" in run.stderr
    assert "network.azCount" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_bad_config_value_exits_2_without_a_traceback(tmp_path):
    project = copy_project(tmp_path)
    stack_file = project / "Pulumi.branch.yaml"
    stack_file.write_text(stack_file.read_text().replace("network.azCount: 2", "network.azCount: 9"))
    run = preflight("--stack", "branch", "--project-dir", str(project))
    assert run.returncode == 2
    assert "aws-compute:network.azCount" in run.stderr and "9" in run.stderr
    assert "Traceback" not in run.stderr


def test_any_stack_file_works_and_its_environment_picks_the_policy_config(tmp_path):
    project = copy_project(tmp_path)
    run = preflight("--stack", "branch", "--project-dir", str(project), "--format", "json")
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["stack"] == "branch"
    assert all(":branch::" in r["urn"] for r in document["resources"])


def test_a_missing_stack_file_exits_2_listing_the_stacks_there():
    run = preflight("--stack", "nosuch")
    assert run.returncode == 2
    assert "Pulumi.nosuch.yaml" in run.stderr and "dev" in run.stderr and "prod" in run.stderr


def test_a_policy_config_that_names_an_unknown_policy_exits_2(tmp_path):
    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"all": "mandatory", "no-such-policy": "advisory"}))
    run = preflight("--stack", "dev", "--policy-config", str(config))
    assert run.returncode == 2
    assert "no-such-policy" in run.stderr


def test_a_policy_config_can_make_the_gate_advisory(tmp_path):
    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"all": "advisory"}))
    run = preflight("--stack", "insecure", "--project-dir", str(INSECURE), "--policy-config", str(config))
    assert run.returncode == 0, run.stderr
    assert "[advisory] [severity: critical]  no-world-ssh" in run.stdout


def test_sarif_output_reports_the_violation_as_an_error_on_the_resource(tmp_path):
    out = tmp_path / "report.sarif"
    run = preflight("--stack", "insecure", "--project-dir", str(INSECURE), "--format", "sarif", "--output", str(out))
    assert run.returncode == 1
    sarif = json.loads(out.read_text())
    assert sarif["version"] == "2.1.0"
    [result] = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "no-world-ssh"]
    assert result["level"] == "error"
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert rules[result["ruleIndex"]]["id"] == "no-world-ssh"
    location = result["locations"][0]["logicalLocations"][0]
    assert location["name"] == "admin-ssh"


def test_junit_output_fails_the_policy_case_with_the_resource(tmp_path):
    run = preflight("--stack", "insecure", "--project-dir", str(INSECURE), "--format", "junit")
    suites = ET.fromstring(run.stdout)
    failed = [case.get("name") for case in suites.iter("testcase") if case.find("failure") is not None]
    assert "no-world-ssh" in failed
    ssh = next(case for case in suites.iter("testcase") if case.get("name") == "no-world-ssh")
    assert "admin-ssh" in ssh.find("failure").text
    passed = [case for case in suites.iter("testcase") if case.find("failure") is None]
    assert passed, "policies the fixture does not violate are passing cases"


def test_markdown_output_is_a_table_of_violations():
    run = preflight("--stack", "insecure", "--project-dir", str(INSECURE), "--format", "markdown")
    assert "failed" in run.stdout.splitlines()[0]
    assert any(line.startswith("| mandatory | critical | `no-world-ssh` | `admin-ssh`")
               for line in run.stdout.splitlines())


def copy_project(tmp_path: Path) -> Path:
    """A copy of the project with the dev stack's file as Pulumi.branch.yaml: an ephemeral stack."""
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(".venv", ".git", "tests", "__pycache__", "bench"))
    shutil.copy(ROOT / "Pulumi.dev.yaml", project / "Pulumi.branch.yaml")
    return project


def preflight_of_prod_with(tmp_path: Path, replacements: dict[str, str]) -> subprocess.CompletedProcess:
    """The prod stack with some lines of its file replaced, as a user's edit would."""
    project = copy_project(tmp_path)
    text = (ROOT / "Pulumi.prod.yaml").read_text()
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    (project / "Pulumi.branch.yaml").write_text(text)
    return preflight("--stack", "branch", "--project-dir", str(project))


def test_a_fleet_whose_minimum_exceeds_its_maximum_exits_2_naming_both_keys(tmp_path):
    run = preflight_of_prod_with(tmp_path, {"fleet.minSize: 2": "fleet.minSize: 8"})
    assert run.returncode == 2
    assert "aws-compute:fleet.minSize" in run.stderr and "aws-compute:fleet.maxSize" in run.stderr


def test_an_invalid_fargate_cpu_memory_pair_exits_2_listing_the_valid_memory(tmp_path):
    run = preflight_of_prod_with(tmp_path, {"service.memory: 1024": "service.memory: 5000"})
    assert run.returncode == 2
    assert "aws-compute:service.memory" in run.stderr and "5000" in run.stderr
    assert "1024, 2048, 3072, 4096" in run.stderr


def test_a_world_ssh_cidr_exits_2_naming_the_key(tmp_path):
    run = preflight_of_prod_with(tmp_path, {"  aws-compute:server.drRegion": "  aws-compute:server.sshCidrs:\n"
                                            "    - 0.0.0.0/0\n  aws-compute:server.drRegion"})
    assert run.returncode == 2
    assert "aws-compute:server.sshCidrs" in run.stderr and "0.0.0.0/0" in run.stderr


# --- deploy readiness ------------------------------------------------------------------------------


def test_prod_lists_its_placeholder_certificate_under_deploy_readiness_and_still_passes():
    run = preflight("--stack", "prod")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
    policies, _, readiness = run.stdout.partition("\nDeploy readiness:\n")
    assert "Policies:" in policies
    block = readiness.split("\n\n")[0]
    assert "aws-compute:loadBalancer.certificateArn = arn:aws:acm:eu-west-1:123456789012:certificate/" in block
    assert "your own account" in block


def test_the_json_document_lists_readiness_entries_without_failing_the_gate(dev_document):
    entries = {entry["key"]: entry for entry in dev_document["readiness"]}
    assert all(set(entry) == {"key", "value", "message"} for entry in entries.values())
    assert entries["aws-compute:service.build"]["value"] == "true"  # Docker is needed where `pulumi up` runs
    assert dev_document["summary"]["passed"] is True


def test_a_documentation_range_in_the_config_is_a_readiness_entry_not_a_failure(tmp_path):
    project = copy_project(tmp_path)
    stack = (project / "Pulumi.dev.yaml").read_text()
    (project / "Pulumi.dev.yaml").write_text(stack + "  aws-compute:server.sshCidrs:\n    - 198.51.100.7/32\n")
    run = preflight("--stack", "dev", "--project-dir", str(project), "--format", "json")
    assert run.returncode == 0, run.stderr
    entries = [(e["key"], e["value"]) for e in json.loads(run.stdout)["readiness"]]
    assert ("aws-compute:server.sshCidrs", "198.51.100.7/32") in entries
