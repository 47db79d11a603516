"""The ``service`` section: what it accepts, and what every refusal says."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest

from components.config import ConfigError, load_stack_config
from components.config.service import fargate_memory_choices

BASE = {"aws:region": "us-east-1", "aws-compute:service.enabled": "true", "aws-compute:service.imageTag": "v1"}
DIGEST = "sha256:" + "ab" * 32
ECR_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password-AbCdEf"
PARAMETER = "arn:aws:ssm:us-east-1:123456789012:parameter/web/api-key"


def key(field: str) -> str:
    return f"aws-compute:service.{field}"


def load(**overrides: str):
    return load_stack_config({**BASE, **{key(k): v for k, v in overrides.items()}}, "dev").service


def problems_of(**overrides: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(**overrides)
    return [str(p) for p in caught.value.problems]


# --- Fargate sizes ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("cpu", "memory"), [
    (256, [512, 1024, 2048]),
    (512, [1024, 2048, 3072, 4096]),
    (1024, [2048, 3072, 4096, 5120, 6144, 7168, 8192]),
])
def test_small_cpus_allow_the_listed_memory_values(cpu, memory):
    assert fargate_memory_choices(cpu) == memory


@pytest.mark.parametrize(("cpu", "lowest", "highest", "step"), [
    (2048, 4096, 16384, 1024), (4096, 8192, 30720, 1024), (8192, 16384, 61440, 4096), (16384, 32768, 122880, 8192),
])
def test_large_cpus_allow_a_range_of_memory_in_fixed_steps(cpu, lowest, highest, step):
    choices = fargate_memory_choices(cpu)
    assert (choices[0], choices[-1]) == (lowest, highest)
    assert {b - a for a, b in pairwise(choices)} == {step}


def test_an_unknown_cpu_allows_no_memory():
    assert fargate_memory_choices(300) == []


def test_a_memory_fargate_lacks_for_the_cpu_is_refused_listing_the_valid_values():
    (problem,) = problems_of(cpu="256", memory="4096")
    assert problem.startswith(f"{key('memory')} = 4096:")
    assert "allowed with cpu 256: 512, 1024, 2048" in problem


def test_a_cpu_fargate_does_not_offer_is_refused_with_the_sizes_it_does():
    (problem,) = problems_of(cpu="3000")
    assert key("cpu") in problem and "256 | 512 | 1024 | 2048 | 4096 | 8192 | 16384" in problem


def test_a_valid_pair_is_accepted():
    service = load(cpu="2048", memory="5120")
    assert (service.cpu, service.memory) == (2048, 5120)


def test_a_disabled_service_is_not_held_to_its_sizes():
    config = load_stack_config({"aws:region": "us-east-1", key("memory"): "4096"}, "dev")
    assert config.service.enabled is False


# --- Image ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("image", [f"{ECR_IMAGE}:1.4.2", f"{ECR_IMAGE}@{DIGEST}", f"{ECR_IMAGE}:1.4.2@{DIGEST}",
                                   "public.ecr.aws/docker/library/python:3.13-slim", "localhost:5000/team/web:dev"])
def test_image_references_with_a_tag_or_digest_are_accepted(image):
    assert load(imageTag="", image=image).image == image


@pytest.mark.parametrize("image", [ECR_IMAGE, "Web:1", f"{ECR_IMAGE}:-bad", f"{ECR_IMAGE}@sha256:abc",
                                   "https://example.com/web:1"])
def test_an_image_without_tag_or_digest_or_malformed_is_refused(image):
    (problem,) = problems_of(imageTag="", image=image)
    assert problem.startswith(key("image"))


def test_the_stacks_repository_needs_a_tag_to_run_when_the_stack_does_not_build_it():
    (problem,) = problems_of(imageTag="", build="false")
    assert key("imageTag") in problem and key("image") in problem


def test_an_image_and_a_tag_together_are_refused():
    (problem,) = problems_of(image=f"{ECR_IMAGE}:2")
    assert key("imageTag") in problem and "one of the two" in problem


def test_a_malformed_tag_is_refused():
    (problem,) = problems_of(imageTag=".hidden")
    assert problem.startswith(key("imageTag"))


def test_building_the_image_needs_no_tag():
    assert load(build="true", imageTag="").build is True


def test_an_image_of_its_own_is_run_as_given_and_not_built():
    # build defaults to true (and Pulumi passes the project's default as a value), so it cannot conflict.
    settings = load(build="true", image="public.ecr.aws/nginx/nginx:1.27", imageTag="")
    assert (settings.image, settings.builds_image) == ("public.ecr.aws/nginx/nginx:1.27", False)


def test_the_stack_builds_its_own_image_by_default():
    settings = load(imageTag="")
    assert settings.build is True and settings.builds_image is True


# --- Task counts and scaling ------------------------------------------------------------------------------------


def test_desired_tasks_between_min_and_max_are_accepted():
    service = load(minTasks="2", desiredTasks="3", maxTasks="6")
    assert (service.min_tasks, service.desired_tasks, service.max_tasks) == (2, 3, 6)


def test_desired_tasks_below_the_minimum_are_refused():
    (problem,) = problems_of(minTasks="2", desiredTasks="1", maxTasks="6")
    assert problem.startswith(f"{key('desiredTasks')} = 1:") and "2 to 6" in problem


def test_a_minimum_above_the_maximum_is_refused_naming_both():
    (problem,) = problems_of(minTasks="5", desiredTasks="5", maxTasks="4")
    assert problem.startswith(key("minTasks")) and key("maxTasks") in problem


@pytest.mark.parametrize("field", ["cpuTarget", "memoryTarget"])
@pytest.mark.parametrize("value", ["0", "101"])
def test_scaling_targets_are_percentages(field, value):
    (problem,) = problems_of(**{field: value})
    assert problem.startswith(key(field)) and "from 1 to 100" in problem


def test_keep_images_is_bounded_by_ecrs_limit():
    (problem,) = problems_of(keepImages="1001")
    assert problem.startswith(key("keepImages"))


def test_log_retention_must_be_one_cloudwatch_offers():
    (problem,) = problems_of(logRetentionDays="10")
    assert problem.startswith(key("logRetentionDays")) and "14" in problem


def test_a_privileged_container_port_is_refused():
    (problem,) = problems_of(containerPort="80")
    assert problem.startswith(key("containerPort")) and "non-root" in problem


# --- Routing ----------------------------------------------------------------------------------------------------


def test_path_patterns_must_start_with_a_slash():
    (problem,) = problems_of(pathPatterns=json.dumps(["api/*"]))
    assert problem.startswith(key("pathPatterns")) and "api/*" in problem


def test_more_path_patterns_than_a_rule_holds_are_refused():
    (problem,) = problems_of(pathPatterns=json.dumps([f"/p{n}/*" for n in range(6)]))
    assert problem.startswith(key("pathPatterns"))


@pytest.mark.parametrize("priority", ["0", "50001"])
def test_the_listener_rule_priority_is_within_albs_range(priority):
    (problem,) = problems_of(listenerRulePriority=priority)
    assert problem.startswith(key("listenerRulePriority")) and "1 to 50000" in problem


def test_the_listener_rule_priority_may_not_be_the_fleets():
    overrides = {"aws-compute:fleet.enabled": "true", "aws-compute:fleet.listenerRulePriority": "100",
                 key("listenerRulePriority"): "100"}
    with pytest.raises(ConfigError) as caught:
        load_stack_config({**BASE, **overrides}, "dev")
    assert any("listenerRulePriority" in str(p) and "fleet" in str(p) for p in caught.value.problems)


# --- Environment and secrets ------------------------------------------------------------------------------------


def test_environment_and_secrets_become_maps():
    service = load(environment=json.dumps(["LOG_LEVEL=debug", "FEATURE_X="]),
                   secrets=json.dumps([f"DB_PASSWORD={SECRET}", f"API_KEY={PARAMETER}"]))
    assert service.environment_variables == {"LOG_LEVEL": "debug", "FEATURE_X": ""}
    assert service.secret_arns == {"DB_PASSWORD": SECRET, "API_KEY": PARAMETER}


def test_a_secrets_manager_json_key_reference_is_accepted():
    reference = f"{SECRET}:password::"
    assert load(secrets=json.dumps([f"DB_PASSWORD={reference}"])).secret_arns == {"DB_PASSWORD": reference}


@pytest.mark.parametrize(("environment", "fragment"), [
    (["LOG_LEVEL"], "NAME=value"), (["1ST=x"], "not an environment variable name"),
    (["A=1", "A=2"], "more than once"), (["PORT=80"], "set by the stack"),
])
def test_malformed_environment_variables_are_refused(environment, fragment):
    (problem,) = problems_of(environment=json.dumps(environment))
    assert problem.startswith(key("environment")) and fragment in problem


@pytest.mark.parametrize("arn", ["arn:aws:s3:::bucket/secret", "arn:aws:secretsmanager:us-east-1:1234:secret:x",
                                 "plain-text-password"])
def test_a_secret_that_is_not_a_secret_or_parameter_arn_is_refused(arn):
    (problem,) = problems_of(secrets=json.dumps([f"TOKEN={arn}"]))
    assert problem.startswith(key("secrets")) and "ARN" in problem


def test_a_name_both_in_environment_and_secrets_is_refused():
    (problem,) = problems_of(environment=json.dumps(["TOKEN=x"]), secrets=json.dumps([f"TOKEN={SECRET}"]))
    assert problem.startswith(key("secrets")) and "TOKEN" in problem and key("environment") in problem
