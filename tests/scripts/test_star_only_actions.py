"""scripts/star_only_actions.py: the star-only table from the Service Authorization Reference's data."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("star_only_actions", ROOT / "scripts" / "star_only_actions.py")
script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(script)


def privilege(*resource_types: str) -> dict:
    return {"resource_types": {name: {"resource_type": name} for name in resource_types}}


def test_an_action_with_only_the_empty_resource_type_accepts_only_star():
    assert script.accepts_only_star(privilege(""))
    assert script.accepts_only_star(privilege())


def test_an_action_with_a_resource_type_does_not_accept_only_star():
    assert not script.accepts_only_star(privilege("instance", ""))


def test_a_family_lists_every_matching_action_with_its_verdict():
    definition = {"ec2": {"privileges": {
        "DescribeInstances": privilege(""), "DescribeInstanceAttribute": privilege("instance"),
        "RunInstances": privilege("instance")}}}
    assert script.family_members(definition, "ec2:Describe*") == {
        "ec2:DescribeInstanceAttribute": False, "ec2:DescribeInstances": True}


def test_a_single_that_takes_a_resource_is_refused_by_name(monkeypatch):
    monkeypatch.setattr(script, "FAMILIES", ())
    monkeypatch.setattr(script, "SINGLES", ("kms:CreateKey",))
    with pytest.raises(script.SourceError, match="kms:CreateKey takes a resource type"):
        script.module_text({"kms": {"privileges": {"CreateKey": privilege("key")}}}, "test")


def test_a_missing_service_is_named(tmp_path, capsys):
    path = tmp_path / "iam.json"
    path.write_text(json.dumps({"kms": {"privileges": {}}}))
    assert script.main([str(path), "--check"]) == 2
    assert "no service 'ec2'" in capsys.readouterr().err
