"""Several reports from one preflight run, through the CLI, validated against their schemas: the project's own
dev stack, the insecure fixture, a program of types no policy judges, and a pack that reports no coverage."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .report_schemas import JUNIT_SCHEMA, validate_sarif

ROOT = Path(__file__).resolve().parents[2]
INSECURE = ROOT / "tests" / "fixtures" / "insecure"


def preflight(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "preflight", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})


def every_report(directory: Path) -> list[str]:
    return ["--sarif", str(directory / "out.sarif"), "--junit", str(directory / "out.xml"),
            "--markdown", str(directory / "out.md"), "--json", str(directory / "out.json")]


@pytest.fixture(scope="module")
def dev_reports(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    directory = tmp_path_factory.mktemp("dev-reports")
    return preflight("--stack", "dev", "--format", "text", *every_report(directory)), directory


@pytest.fixture(scope="module")
def insecure_sarif(tmp_path_factory) -> dict:
    directory = tmp_path_factory.mktemp("insecure-reports")
    run = preflight("--stack", "insecure", "--project-dir", str(INSECURE), "--format", "sarif",
                    "--junit", str(directory / "out.xml"))
    assert run.returncode == 1, run.stderr
    JUNIT_SCHEMA.validate(str(directory / "out.xml"))
    return json.loads(run.stdout)


def test_one_run_writes_the_text_report_and_every_file_asked_for(dev_reports):
    run, directory = dev_reports
    assert run.returncode == 0, run.stderr
    assert "preflight PASSED" in run.stdout and "Coverage:" in run.stdout
    assert json.loads((directory / "out.json").read_text())["summary"]["passed"] is True
    assert (directory / "out.md").read_text().startswith("### Preflight of `dev`: passed")


def test_the_dev_stack_sarif_is_valid_and_its_waivers_are_suppressions(dev_reports):
    _, directory = dev_reports
    document = json.loads((directory / "out.sarif").read_text())
    validate_sarif(document)
    [run] = document["runs"]
    assert run["automationDetails"]["id"] == "preflight/aws-compute/dev/"
    suppressed = [r for r in run["results"] if r.get("suppressions")]
    assert sorted(r["ruleId"] for r in suppressed) == ["ec2-no-public-ip", "no-world-http-except-load-balancers",
                                                        "s3-bucket-access-logging"]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in suppressed} == \
        {"components/server.py", "components/load_balancer.py"}


def test_the_dev_stack_junit_is_valid_against_the_junit_schema(dev_reports):
    _, directory = dev_reports
    JUNIT_SCHEMA.validate(str(directory / "out.xml"))
    root = ET.parse(directory / "out.xml").getroot()
    assert int(root.get("tests")) > 100 and root.get("errors") == "0"


def test_every_resource_in_the_json_document_says_where_the_program_created_it(dev_reports):
    _, directory = dev_reports
    resources = json.loads((directory / "out.json").read_text())["resources"]
    created = [r for r in resources if not r["type"].startswith("pulumi:providers:")]
    for resource in created:
        source = resource["source"]
        line = (ROOT / source["file"]).read_text().splitlines()[source["line"] - 1]
        assert "(" in line, (resource["name"], source, line)
    [vpc] = [r for r in resources if r["type"] == "aws:ec2/vpc:Vpc"]
    assert vpc["source"]["file"] == "components/network.py"


def test_a_sarif_result_points_at_the_line_that_created_its_resource(insecure_sarif):
    validate_sarif(insecure_sarif)
    [run] = insecure_sarif["runs"]
    ssh = [r for r in run["results"] if r["ruleId"] == "no-world-ssh"]
    location = ssh[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "tests/fixtures/insecure/__main__.py"
    line = (INSECURE / "__main__.py").read_text().splitlines()[location["region"]["startLine"] - 1]
    assert line == "aws.ec2.SecurityGroup("
    assert ssh[0]["level"] == "error"


def write_program(directory: Path, program: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text("name: topics\nruntime: python\n")
    (directory / "Pulumi.t.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    (directory / "__main__.py").write_text(textwrap.dedent(program))
    return directory


# Types no policy judges (SNS topics and SQS queues were, until the pack judged their encryption).
TOPICS_ONLY = """
    import pulumi_aws as aws
    aws.route53.Zone("internal", name="example.internal")
    aws.ssm.MaintenanceWindow("patching", schedule="cron(0 3 ? * SUN *)", duration=2, cutoff=1)
"""


def test_a_program_of_types_the_pack_does_not_judge_is_unchecked_not_passed(tmp_path):
    project = write_program(tmp_path / "topics", TOPICS_ONLY)
    run = preflight("--stack", "t", "--project-dir", str(project), "--json", str(tmp_path / "out.json"),
                    "--junit", str(tmp_path / "out.xml"))
    assert run.returncode == 0, run.stderr
    assert "preflight UNCHECKED" in run.stdout and "PASSED" not in run.stdout
    coverage = json.loads((tmp_path / "out.json").read_text())["coverage"]
    assert (coverage["resources"], coverage["judged"]) == (2, 0)
    assert {u["type"] for u in coverage["unjudged"]} == {"aws:route53/zone:Zone",
                                                         "aws:ssm/maintenanceWindow:MaintenanceWindow"}
    JUNIT_SCHEMA.validate(str(tmp_path / "out.xml"))
    skipped = {c.get("name") for c in ET.parse(tmp_path / "out.xml").getroot().iter("testcase")
               if c.get("classname") == "coverage" and c.find("skipped") is not None}
    assert skipped == {"aws:route53/zone:Zone", "aws:ssm/maintenanceWindow:MaintenanceWindow"}


GENERIC_PACK = """
    from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy

    def nothing_public(args, report_violation):
        if args.props.get("policy") == "public":
            report_violation("public")

    PolicyPack(name="generic", enforcement_level=EnforcementLevel.MANDATORY, policies=[
        ResourceValidationPolicy(name="nothing-public", description="Nothing is public.", validate=nothing_public)])
"""


def test_a_pack_that_reports_no_applicability_leaves_coverage_unknown(tmp_path):
    project = write_program(tmp_path / "topics", TOPICS_ONLY)
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n")
    (pack / "__main__.py").write_text(textwrap.dedent(GENERIC_PACK))
    (tmp_path / "config.json").write_text("{}")
    run = preflight("--stack", "t", "--project-dir", str(project), "--policy-pack", str(pack),
                    "--policy-config", str(tmp_path / "config.json"), "--format", "json")
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["coverage"]["known"] is False and "coverage unknown" in document["coverage"]["note"]
    assert document["summary"]["verdict"] == "passed"


def test_a_report_that_cannot_be_written_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    run = preflight("--stack", "dev", "--sarif", str(blocker / "out.sarif"))
    assert run.returncode == 2
    assert f"cannot write the sarif report to {blocker / 'out.sarif'}" in run.stderr


def test_one_file_for_two_formats_is_refused_before_the_run(tmp_path):
    run = preflight("--stack", "dev", "--sarif", str(tmp_path / "out"), "--junit", str(tmp_path / "out"))
    assert run.returncode == 2
    assert "is given for both the sarif and the junit report" in run.stderr
