"""The cost estimate, --compare and --diagram as a user and CI run them: `python -m preflight` in a fresh process."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.preflight.test_preflight_cli import preflight


@pytest.fixture(scope="module")
def dev_json() -> dict:
    run = preflight("--stack", "dev", "--format", "json")
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_the_json_document_carries_the_cost_with_its_currency_total_resources_and_assumptions(dev_json):
    cost = dev_json["cost"]
    assert cost["currency"] == "USD"
    assert cost["monthly"] == pytest.approx(sum(r["monthly"] for r in cost["resources"]), abs=0.05)
    assert all({"urn", "monthly", "basis"} <= set(r) for r in cost["resources"])
    assert cost["assumptions"]["lambda.requestsPerMonth"] == 1_000_000
    assert cost["unpriced"], "the dev stack has charges the table cannot price; they must be listed"


def test_the_text_report_prints_the_total_the_top_items_and_the_assumptions():
    run = preflight("--stack", "dev")
    assert run.returncode == 0, run.stderr
    block = run.stdout.split("Monthly cost estimate:")[1]
    assert "network-nat-a (NatGateway, us-east-1)" in block
    assert "assumptions: natGateway.gbPerMonth=10" in block


def test_compare_reports_added_removed_changed_and_the_cost_delta_in_json_and_markdown(dev_json, tmp_path: Path):
    base = json.loads(json.dumps(dev_json))
    nat = next(r for r in base["resources"] if r["name"] == "network-nat-a")
    base["resources"].remove(nat)
    base["resources"].append({**nat, "urn": nat["urn"] + "-old"})
    server = next(r for r in base["resources"] if r["name"] == "server-instance")
    server["inputs"]["instanceType"] = "t3.micro"
    base["cost"]["monthly"] -= 10
    (tmp_path / "base.json").write_text(json.dumps(base))
    run = preflight("--stack", "dev", "--format", "json", "--compare", str(tmp_path / "base.json"))
    change = json.loads(run.stdout)["compare"]
    assert change["added"] == [nat["urn"]]
    assert change["removed"] == [nat["urn"] + "-old"]
    assert {"urn": server["urn"], "fields": ["instanceType"]} in change["changed"]
    assert change["cost"]["delta"] == pytest.approx(10, abs=0.01)
    markdown = preflight("--stack", "dev", "--format", "markdown", "--compare", str(tmp_path / "base.json")).stdout
    assert "#### Change against `base.json`" in markdown and "**+10.00** a month" in markdown
    assert markdown.index("#### Change against") < markdown.index("| Level |")  # what a reviewer wants first


def test_diagram_draws_the_dev_stack_to_an_svg(tmp_path: Path):
    out = tmp_path / "dev.svg"
    run = preflight("--stack", "dev", "--diagram", str(out), "--format", "json")
    assert run.returncode == 0, run.stderr
    text = " ".join(t.text or "" for t in ET.parse(out).getroot().iter() if t.tag.endswith("text"))
    assert "lb-alb" in text and "VPC network-vpc 10.10.0.0/16" in text


def test_a_usage_file_with_an_unknown_key_exits_2_naming_it(tmp_path: Path):
    usage = tmp_path / "usage.yaml"
    usage.write_text("lambda.requests: 5\n")
    run = preflight("--stack", "dev", "--usage", str(usage))
    assert run.returncode == 2
    assert "unknown key lambda.requests" in run.stderr and "Traceback" not in run.stderr


def test_a_missing_base_document_exits_2(tmp_path: Path):
    run = preflight("--stack", "dev", "--compare", str(tmp_path / "nowhere.json"))
    assert run.returncode == 2 and "not found" in run.stderr


def test_a_diagram_file_of_another_type_exits_2_before_the_program_runs():
    run = preflight("--stack", "dev", "--diagram", "stack.pdf")
    assert run.returncode == 2
    assert "unsupported file type '.pdf'; allowed: .svg, .png" in run.stderr
