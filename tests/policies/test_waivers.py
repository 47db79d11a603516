"""Waivers: a named resource exempted from a named policy, with a reason; never silent, never stale."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path

from policies.rules.base import Resource
from policies.rules.waivers import Ledger, unwaived

ROOT = Path(__file__).resolve().parents[2]
INSECURE = ROOT / "tests" / "fixtures" / "insecure"
TODAY = datetime.date(2026, 11, 28)
BASTION = Resource("aws:ec2/securityGroup:SecurityGroup", {}, "bastion-sg",
                   "urn:pulumi:dev::aws-compute::aws:ec2/securityGroup:SecurityGroup::bastion-sg")


def waiver(resource: str, **extra: str) -> dict:
    return {"waivers": [{"resource": resource, "reason": "INC-42: vendor access until March", **extra}]}


def test_a_waived_finding_is_not_reported_by_its_policy_but_kept_in_the_ledger():
    ledger = Ledger()
    reported = unwaived("no-world-ssh", BASTION, ["port 22 open"], waiver("bastion-sg"), TODAY, ledger)
    assert reported == []
    [finding] = ledger.waived()
    assert (finding.waiver.reason, finding.message) == ("INC-42: vendor access until March", "port 22 open")


def test_a_waiver_pattern_matches_the_resource_urn_too():
    ledger = Ledger()
    config = waiver("*::aws:ec2/securityGroup:SecurityGroup::bastion-*")
    assert unwaived("no-world-ssh", BASTION, ["port 22 open"], config, TODAY, ledger) == []


def test_a_waiver_for_another_resource_leaves_the_finding_reported():
    ledger = Ledger()
    assert unwaived("no-world-ssh", BASTION, ["port 22 open"], waiver("web-sg"), TODAY, ledger) == ["port 22 open"]
    assert [w.resource for w in ledger.unmatched()] == ["web-sg"]


def test_an_expired_waiver_no_longer_applies_and_is_reported_as_unmatched():
    ledger = Ledger()
    config = waiver("bastion-sg", expires="2026-11-28")
    assert unwaived("no-world-ssh", BASTION, ["port 22 open"], config, TODAY, ledger) == ["port 22 open"]
    assert [w.expires for w in ledger.unmatched()] == ["2026-11-28"]


def test_a_waiver_before_its_expiry_still_applies():
    ledger = Ledger()
    assert unwaived("no-world-ssh", BASTION, ["x"], waiver("bastion-sg", expires="2026-11-29"), TODAY, ledger) == []


def test_analysing_the_same_resource_twice_waives_one_finding_once():
    ledger = Ledger()
    for _ in range(2):
        unwaived("no-world-ssh", BASTION, ["port 22 open"], waiver("bastion-sg"), TODAY, ledger)
    assert len(ledger.waived()) == 1


def preflight_with(tmp_path: Path, policy_config: dict, *extra: str) -> subprocess.CompletedProcess:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy_config))
    return subprocess.run([sys.executable, "-m", "preflight", "--stack", "insecure", "--project-dir", str(INSECURE),
                           "--policy-config", str(path), *extra], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


BASE = {"all": "advisory"}  # so that the gate turns on the one mandatory policy each test waives


def test_the_preflight_passes_a_waived_violation_and_shows_it_as_waived_with_the_reason(tmp_path):
    config = {**BASE, "no-world-ssh": {"enforcementLevel": "mandatory", **waiver("admin-ssh")}}
    run = preflight_with(tmp_path, config, "--format", "json")
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert [(w["policy"], w["resourceName"], w["reason"]) for w in document["waived"]] == [
        ("no-world-ssh", "admin-ssh", "INC-42: vendor access until March")]
    assert document["summary"]["waived"] == 1
    assert not [v for v in document["violations"] if v["policy"] == "no-world-ssh"]


def test_the_preflight_reports_a_waiver_that_matches_nothing(tmp_path):
    config = {**BASE, "no-world-rdp": {"enforcementLevel": "mandatory", **waiver("windows-*")}}
    run = preflight_with(tmp_path, config)
    assert "waivers-match-resources" in run.stdout
    assert "the waiver of no-world-rdp for resource 'windows-*' matches no resource" in run.stdout


def test_a_waiver_without_a_reason_is_a_config_error_naming_the_policy(tmp_path):
    config = {**BASE, "no-world-ssh": {"enforcementLevel": "mandatory", "waivers": [{"resource": "admin-ssh"}]}}
    run = preflight_with(tmp_path, config)
    assert run.returncode == 2
    assert "no-world-ssh" in run.stderr and "reason" in run.stderr


def test_the_waiver_reports_run_after_every_other_policy(pack):
    names = [policy.name for policy in pack.info.policies]
    assert names[-2:] == ["waived-findings", "waivers-match-resources"]
