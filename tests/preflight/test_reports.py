"""The reports CI tools read, rendered from small results built here: SARIF as GitHub code scanning accepts it,
JUnit as the common schema has it, Markdown that shows messages as written, and the coverage they all state."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from preflight.analyzer import PackResult, Violation
from preflight.recorder import RecordedResource, Recording
from preflight.report import Result, render_json, render_junit, render_markdown, render_sarif, render_text

from .report_schemas import JUNIT_SCHEMA, validate_sarif

PACK = "guardrails"
BUCKET, ROLE, TOPIC = "aws:s3/bucket:Bucket", "aws:iam/role:Role", "aws:sns/topic:Topic"


def urn(type_: str, name: str, stack: str = "dev") -> str:
    return f"urn:pulumi:{stack}::demo::{type_}::{name}"


def resource(type_: str, name: str, line: int = 0, stack: str = "dev", custom: bool = True) -> RecordedResource:
    return RecordedResource(urn(type_, name, stack), type_, name, "", custom, f"{name}-id", {}, {}, [], {}, {},
                            source={"file": "infra/storage.py", "line": line} if line else {})


def policy(name: str, kind: str = "resource", level: str = "mandatory", severity: str = "high",
           tags: tuple[str, ...] = ("checkov:CKV_AWS_1",)) -> dict:
    return {"name": name, "severity": severity, "enforcementLevel": level, "tags": list(tags),
            "description": f"{name} description", "remediation": f"fix {name}", "kind": kind}


def violation(policy_name: str, target: RecordedResource | None, message: str, level: str = "mandatory",
              stack: str = "dev") -> Violation:
    target_urn = target.urn if target else f"urn:pulumi:{stack}::demo::pulumi:pulumi:Stack::demo-{stack}"
    return Violation(PACK, policy_name, level, "high", target_urn, target.type if target else "pulumi:pulumi:Stack",
                     target.name if target else f"demo-{stack}", f"{policy_name} description", message,
                     ["checkov:CKV_AWS_1"], f"fix {policy_name}")


def not_applicable(policy_name: str, *targets: RecordedResource) -> list[dict]:
    return [{"policy": policy_name, "reason": "", "urn": t.urn} for t in targets]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A repository with the program one directory down, as in a monorepo: SARIF paths start at the root."""
    (tmp_path / ".git").mkdir()
    program = tmp_path / "deploy"
    (program / "infra").mkdir(parents=True)
    (program / "infra" / "storage.py").write_text("import pulumi_aws as aws\n\nbucket = aws.s3.Bucket('logs')\n"
                                                  "role = aws.iam.Role('reader')\n")
    (program / "Pulumi.dev.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    return program


def result_of(resources: list[RecordedResource], policies: list[dict], violations: list[Violation],
              skipped: list[dict], directory: Path | None = None, stack: str = "dev") -> Result:
    recording = Recording("demo", stack, resources, directory=str(directory or ""))
    return Result(recording, [PackResult(PACK, "1.2.0", "policies", policies, violations, skipped)])


@pytest.fixture
def bucket_result(project: Path) -> Result:
    """A bucket that fails `bucket-encrypted`, a role that only `role-boundary` judges, a topic no policy judges,
    a waived finding on the role and a stack finding."""
    bucket, role, topic = resource(BUCKET, "logs", 3), resource(ROLE, "reader", 4), resource(TOPIC, "alerts", 3)
    policies = [policy("bucket-encrypted"), policy("role-boundary", level="advisory"),
                policy("queue-encrypted"), policy("vpc-flow-logs", kind="stack"),
                policy("waived-findings", kind="stack", level="advisory")]
    violations = [
        violation("bucket-encrypted", bucket, "serverSideEncryption is not set; allowed: aws:kms"),
        violation("waived-findings", role, "waived role-boundary (reason: read-only role, until 2030-01-01): "
                                           "permissionsBoundary is not set", level="advisory"),
        violation("vpc-flow-logs", None, "the stack has no flow log", level="advisory"),
    ]
    skipped = (not_applicable("bucket-encrypted", role, topic) + not_applicable("role-boundary", bucket, topic)
               + not_applicable("queue-encrypted", bucket, role, topic))
    return result_of([bucket, role, topic], policies, violations, skipped, project)


def sarif_of(result: Result) -> dict:
    return json.loads(render_sarif(result))


def markdown_html(markdown: str) -> str:
    """As GitHub shows a comment: CommonMark with GFM tables and strikethrough."""
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)


# SARIF


def test_sarif_is_valid_against_both_sarif_2_1_0_schema_revisions(bucket_result):
    validate_sarif(sarif_of(bucket_result))


def test_a_sarif_result_points_at_the_program_line_relative_to_the_repository_root(bucket_result):
    [bucket_finding] = [r for r in sarif_of(bucket_result)["runs"][0]["results"] if r["ruleId"] == "bucket-encrypted"]
    location = bucket_finding["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "deploy/infra/storage.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 3, "startColumn": 1, "endLine": 3,
                                  "endColumn": len("bucket = aws.s3.Bucket('logs')") + 1}


def test_a_given_source_root_replaces_the_git_work_tree(bucket_result, project):
    bucket_result.source_root = str(project)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in sarif_of(bucket_result)["runs"][0]["results"]}
    assert "infra/storage.py" in uris


def test_a_finding_on_the_stack_points_at_the_stack_config_file(bucket_result):
    [stack_finding] = [r for r in sarif_of(bucket_result)["runs"][0]["results"] if r["ruleId"] == "vpc-flow-logs"]
    location = stack_finding["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "deploy/Pulumi.dev.yaml"
    assert location["region"]["startLine"] == 1


def test_a_waived_finding_is_a_suppressed_result_of_its_own_policy_with_the_reason(bucket_result):
    results = sarif_of(bucket_result)["runs"][0]["results"]
    [waived] = [r for r in results if r.get("suppressions")]
    assert waived["ruleId"] == "role-boundary"
    assert waived["suppressions"] == [{"kind": "external", "justification": "read-only role",
                                       "properties": {"expires": "2030-01-01"}}]
    assert waived["message"]["text"].startswith("permissionsBoundary is not set")
    assert not [r for r in results if r["ruleId"] == "waived-findings"]


def test_each_run_is_categorised_by_project_and_stack_so_dev_and_prod_uploads_coexist(bucket_result, project):
    prod = result_of([resource(BUCKET, "logs", 3, "prod")], [policy("bucket-encrypted")], [], [], project, "prod")
    ids = {sarif_of(r)["runs"][0]["automationDetails"]["id"] for r in (bucket_result, prod)}
    assert ids == {"preflight/demo/dev/", "preflight/demo/prod/"}


def test_a_fingerprint_stays_when_the_program_lines_move_and_differs_per_finding(bucket_result):
    def fingerprints(result: Result) -> dict[str, str]:
        return {r["ruleId"]: r["partialFingerprints"]["primaryLocationLineHash"]
                for r in sarif_of(result)["runs"][0]["results"]}

    before = fingerprints(bucket_result)
    for r in bucket_result.recording.resources:
        r.source = {"file": "infra/storage.py", "line": 1}
    assert fingerprints(bucket_result) == before
    assert len(set(before.values())) == len(before)


def test_every_rule_has_a_full_description_and_help_in_text_and_markdown(bucket_result):
    for rule in sarif_of(bucket_result)["runs"][0]["tool"]["driver"]["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"] != rule["shortDescription"]["text"]
        assert f"fix {rule['id']}" in rule["help"]["text"]
        assert f"**Fix:** fix {rule['id']}" in rule["help"]["markdown"]


def test_a_rule_with_a_severity_is_a_security_rule_with_a_string_score(bucket_result):
    rules = {r["id"]: r for r in sarif_of(bucket_result)["runs"][0]["tool"]["driver"]["rules"]}
    properties = rules["bucket-encrypted"]["properties"]
    assert properties["security-severity"] == "8.0"
    assert properties["tags"][0] == "security" and "checkov:CKV_AWS_1" in properties["tags"]


def test_sarif_meets_github_code_scanning_requirements_and_limits(bucket_result):
    """From "SARIF support for code scanning": required properties, levels, and the limits beyond which an
    upload is rejected (20 runs, 25,000 results and rules per run, 20 tags per rule, 1,024-character
    descriptions)."""
    document = sarif_of(bucket_result)
    assert document["$schema"] and document["version"] == "2.1.0" and 1 <= len(document["runs"]) <= 20
    for run in document["runs"]:
        driver = run["tool"]["driver"]
        assert driver["name"] and len(driver["rules"]) <= 25_000 and len(run["results"]) <= 25_000
        for rule in driver["rules"]:
            assert rule["id"] and len(rule["name"]) <= 255 and rule["help"]["text"]
            for description in (rule["shortDescription"], rule["fullDescription"]):
                assert 0 < len(description["text"]) <= 1024
            assert rule["defaultConfiguration"]["level"] in {"note", "warning", "error"}
            assert len(rule["properties"]["tags"]) <= 20
            assert 0.0 < float(rule["properties"].get("security-severity", "1")) <= 10.0
        for found in run["results"]:
            assert found["message"]["text"] and found["level"] in {"note", "warning", "error"}
            assert found["partialFingerprints"]["primaryLocationLineHash"]
            assert driver["rules"][found["ruleIndex"]]["id"] == found["ruleId"]
            [location] = found["locations"]
            region = location["physicalLocation"]["region"]
            assert location["physicalLocation"]["artifactLocation"]["uri"]
            assert {"startLine", "startColumn", "endLine", "endColumn"} <= set(region)


def test_a_disabled_policy_is_a_disabled_rule_at_a_level_github_accepts(project):
    result = result_of([resource(BUCKET, "logs", 3)], [policy("bucket-encrypted", level="disabled")], [], [], project)
    [rule] = sarif_of(result)["runs"][0]["tool"]["driver"]["rules"]
    assert rule["defaultConfiguration"] == {"level": "note", "enabled": False}


# JUnit


def junit_of(result: Result) -> ET.Element:
    document = render_junit(result)
    JUNIT_SCHEMA.validate(document)
    return ET.fromstring(document)


def case(root: ET.Element, name: str) -> ET.Element:
    [found] = [c for c in root.iter("testcase") if c.get("name") == name]
    return found


def test_junit_is_valid_against_the_junit_schema_with_errors_and_skipped_counts(bucket_result):
    root = junit_of(bucket_result)
    for suite in root.iter("testsuite"):
        assert {"name", "tests", "failures", "errors", "skipped", "time"} <= set(suite.attrib)
    pack = root.find("testsuite")
    assert (pack.get("tests"), pack.get("failures"), pack.get("errors"), pack.get("skipped")) == ("5", "1", "0", "1")


def test_a_policy_that_judged_no_resource_is_skipped_not_passed(bucket_result):
    skipped = case(junit_of(bucket_result), "queue-encrypted").find("skipped")
    assert skipped is not None and "judged no resource" in skipped.get("message")


def test_a_mandatory_violation_fails_its_policy_case(bucket_result):
    failure = case(junit_of(bucket_result), "bucket-encrypted").find("failure")
    assert failure is not None and "serverSideEncryption is not set" in failure.text


def test_each_resource_type_no_policy_judges_is_a_skipped_coverage_case(bucket_result):
    root = junit_of(bucket_result)
    topic = case(root, TOPIC)
    assert topic.get("classname") == "coverage"
    assert topic.find("skipped").get("message") == "1 resource(s) of this type judged by no policy"
    assert topic.find("skipped").text == "alerts"


# Markdown

TRICKY = "arn:aws:logs:*:*:* in <env> | a_b_c `x` [link](http://example.com) ~~gone~~ &lt;"


def tricky_result(project: Path) -> Result:
    bucket = resource(BUCKET, "logs`|x", 3)
    return result_of([bucket], [policy("bucket-encrypted")], [violation("bucket-encrypted", bucket, TRICKY)], [],
                     project)


def test_markdown_shows_a_message_with_formatting_characters_as_written(project):
    html = markdown_html(render_markdown(tricky_result(project)))
    assert "arn:aws:logs:*:*:* in &lt;env&gt; | a_b_c `x` [link](http://example.com) ~~gone~~ &amp;lt;" in html
    for formatting in ("<em>", "<strong>", "<a ", "<s>", "<del>"):
        assert formatting not in html


def test_markdown_keeps_a_resource_name_with_backticks_and_pipes_in_one_code_cell(project):
    html = markdown_html(render_markdown(tricky_result(project)))
    assert "<code>logs`|x</code>" in html
    assert html.count("<td>") == 6  # one row of six cells: no pipe split it


def test_markdown_headline_counts_equal_the_rows_of_its_tables(bucket_result):
    markdown = render_markdown(bucket_result)
    html = markdown_html(markdown)
    assert "3 resources; 1 mandatory and 1 advisory violations; 1 waived." in markdown
    tables = html.split("<table>")[1:]
    violation_rows, waived_rows, uncovered_rows = (table.split("</thead>")[1].count("<tr>") for table in tables)
    assert (violation_rows, waived_rows, uncovered_rows) == (2, 1, 1)


# Coverage


def test_text_json_and_markdown_name_the_types_no_policy_judges(bucket_result):
    text, markdown = render_text(bucket_result), render_markdown(bucket_result)
    coverage = json.loads(render_json(bucket_result))["coverage"]
    assert coverage["known"] is True and (coverage["resources"], coverage["judged"]) == (3, 2)
    assert coverage["unjudged"] == [{"type": TOPIC, "count": 1, "names": ["alerts"]}]
    assert coverage["policiesJudgingNothing"] == ["guardrails/queue-encrypted"]
    assert "2 of 3 resources judged" in text and "1 aws:sns:Topic" in text
    assert "| aws:sns:Topic | 1 |" in markdown


def test_a_program_of_types_no_policy_judges_reads_unchecked_not_passed(project):
    topic = resource(TOPIC, "alerts", 3)
    result = result_of([topic], [policy("bucket-encrypted")], [], not_applicable("bucket-encrypted", topic), project)
    assert result.passed and result.verdict == "unchecked"
    assert "preflight UNCHECKED" in render_text(result) and "PASSED" not in render_text(result)
    assert "nothing checked" in render_markdown(result)
    assert json.loads(render_json(result))["summary"]["verdict"] == "unchecked"


def test_a_pack_that_never_says_not_applicable_gives_unknown_coverage(project):
    topic = resource(TOPIC, "alerts", 3)
    result = result_of([topic], [policy("anything-goes")], [], [], project)
    assert result.verdict == "passed"
    coverage = json.loads(render_json(result))["coverage"]
    assert coverage["known"] is False and coverage["judged"] is None
    assert "coverage unknown" in render_text(result)
    assert "coverage unknown" in case(junit_of(result), "resources judged by a policy").find("skipped").get("message")


def test_a_resource_named_in_a_stack_policy_finding_counts_as_judged(project):
    vpc = resource("aws:ec2/vpc:Vpc", "main", 3)
    result = result_of([vpc], [policy("bucket-encrypted"), policy("vpc-flow-logs", kind="stack")],
                       [violation("vpc-flow-logs", vpc, "no flow log", "advisory")],
                       not_applicable("bucket-encrypted", vpc), project)
    assert result.coverage.unjudged == [] and result.verdict == "passed"


def test_components_and_providers_are_not_counted_as_unjudged(project):
    component = resource("demo:index:Box", "box", 3, custom=False)
    provider = resource("pulumi:providers:aws", "default", 3)
    topic = resource(TOPIC, "alerts", 3)
    result = result_of([component, provider, topic], [policy("bucket-encrypted")], [],
                       not_applicable("bucket-encrypted", component, provider, topic), project)
    assert [r.name for r in result.coverage.unjudged] == ["alerts"]
