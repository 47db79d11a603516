"""Values as the CLI passes them: what Pulumi itself would refuse or misread is refused, in YAML's words."""

from __future__ import annotations

import json

import pytest

from components.config import ConfigError, load_stack_config
from components.config.aws_catalog import aws_regions, ec2_instance_types, instance_type_problem, region_problem

BASE = {"aws:region": "us-east-1"}


def problems_of(overrides: dict[str, str], stack: str = "dev", secret_keys: tuple[str, ...] = ()) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config({**BASE, **overrides}, stack, secret_keys)
    return [str(p) for p in caught.value.problems]


def test_the_region_list_is_botocores_and_covers_every_partition():
    assert {"us-east-1", "eu-central-2", "cn-north-1", "us-gov-west-1"} <= aws_regions()


def test_the_instance_type_list_is_current_for_graviton_generations():
    assert {"t4g.micro", "m7g.large", "c7g.xlarge", "m8g.large", "r8g.medium"} <= ec2_instance_types()


def test_a_region_typo_suggests_the_closest_regions():
    assert "us-east-1" in region_problem("us-esat-1")
    assert region_problem("eu-west-1") is None


def test_an_instance_type_typo_suggests_the_closest_type():
    assert "did you mean t3.micro" in instance_type_problem("t3.mirco")


def test_a_dr_region_typo_is_refused_naming_its_key():
    [problem] = problems_of({"aws-compute:server.drRegion": "eu-centrl-1"})
    assert problem.startswith("aws-compute:server.drRegion = ") and "eu-central-1" in problem


def test_the_text_yes_is_not_a_boolean_to_the_config():
    [problem] = problems_of({"aws-compute:server.enabled": "yes"})
    assert 'true or false expected, not the text "yes"' in problem


def test_a_boolean_is_not_a_number():
    [problem] = problems_of({"aws-compute:fleet.minSize": "true"})
    assert "aws-compute:fleet.minSize = true: a whole number expected, not the boolean true" in problem


def test_messages_speak_yaml_not_pydantic():
    problems = problems_of({"aws-compute:network.interfaceEndpoints": '"ssm"', "aws-compute:fleet.maxSize": "1.5"})
    assert any("a list expected" in p for p in problems)
    assert any("a whole number expected, not a fraction" in p for p in problems)
    assert not any("valid" in p or "tuple" in p for p in problems)


def test_a_secret_value_is_opaque_not_validated_as_its_placeholder():
    placeholder = "preflight-placeholder-secret"
    config = load_stack_config({**BASE, "aws-compute:server.sshPublicKey": placeholder,
                                "aws-compute:service.environment": placeholder}, "dev",
                               ["aws-compute:server.sshPublicKey", "aws-compute:service.environment"])
    assert config.server.ssh_public_key == "" and config.service.environment == ()


def test_the_clis_object_of_dotted_defaults_is_not_taken_for_a_key():
    load_stack_config({**BASE, "aws-compute:network": json.dumps({"azCount": 2})}, "dev")


def test_a_stack_name_with_a_dot_cannot_name_the_lambda_function():
    [problem] = problems_of({"aws-compute:function.enabled": "true"}, stack="feature.x")
    assert problem.startswith('stack name = "feature.x": ') and "64 characters" in problem


def test_a_long_stack_name_is_fine_when_there_is_no_function():
    load_stack_config(BASE, "x" * 60)


def test_a_long_list_is_shown_by_its_first_items_and_count():
    [problem] = problems_of({"aws-compute:tags": json.dumps([f"K{i}=v" for i in range(45)])})
    assert '["K0=v", "K1=v", "K2=v", ... (45 items)]' in problem and "45 tags, 5 over the limit of 40" in problem
