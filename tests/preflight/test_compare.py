"""--compare: what a change adds, removes and changes against a base document, and the monthly cost delta."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from preflight.compare import CompareError, compare, load_base


def document(resources: dict[str, dict], costs: dict[str, float] | None = None) -> dict:
    doc = {"resources": [{"urn": urn, "type": "aws:ec2/instance:Instance", "inputs": inputs,
                          "options": {"protect": False}} for urn, inputs in resources.items()]}
    if costs is not None:
        doc["cost"] = {"currency": "USD", "monthly": sum(costs.values()),
                       "resources": [{"urn": urn, "monthly": value} for urn, value in costs.items()]}
    return doc


BASE = document({"a": {"instanceType": "t3.micro"}, "b": {"size": 10}, "gone": {}},
                {"a": 7.59, "b": 0.80, "gone": 1.00})
HEAD = document({"a": {"instanceType": "t3.small"}, "b": {"size": 10}, "new": {}},
                {"a": 15.18, "b": 0.80, "new": 2.00})


def test_resources_only_in_the_head_are_added_and_only_in_the_base_removed():
    result = compare(BASE, HEAD)
    assert result.added == ["new"]
    assert result.removed == ["gone"]


def test_a_resource_whose_inputs_differ_is_changed_with_the_keys_that_differ():
    [changed] = compare(BASE, HEAD).changed
    assert changed.urn == "a" and changed.fields == ["instanceType"]


def test_a_changed_option_is_named_as_such():
    head = json.loads(json.dumps(BASE))
    head["resources"][1]["options"]["protect"] = True
    [changed] = compare(BASE, head).changed
    assert changed.fields == ["options.protect"]


def test_the_monthly_delta_is_head_minus_base_and_per_resource_changes_are_listed():
    result = compare(BASE, HEAD)
    assert result.monthly_delta == pytest.approx((15.18 + 0.80 + 2.00) - (7.59 + 0.80 + 1.00))
    assert {(c.urn, round(c.delta, 2)) for c in result.cost_changes} == {("a", 7.59), ("gone", -1.0), ("new", 2.0)}


def test_a_base_without_a_cost_estimate_gives_an_unknown_delta_not_a_zero_one():
    result = compare(document({"a": {}}), HEAD)
    assert result.monthly_delta is None
    assert result.as_json()["cost"]["delta"] is None
    assert "unknown" in "\n".join(result.text_lines())


def test_identical_documents_have_no_change():
    result = compare(BASE, BASE)
    assert (result.added, result.removed, result.changed, result.monthly_delta) == ([], [], [], 0)


def test_a_base_that_is_not_a_preflight_document_is_refused_with_what_is_allowed(tmp_path: Path):
    base = tmp_path / "base.json"
    base.write_text('{"violations": []}')
    with pytest.raises(CompareError, match=r"no 'resources' list.*--format json"):
        load_base(base)


def test_a_missing_base_is_named(tmp_path: Path):
    with pytest.raises(CompareError, match="not found"):
        load_base(tmp_path / "nowhere.json")
