"""The ``function`` section: its defaults, what it accepts, and what every refusal says."""

from __future__ import annotations

import pytest

from components.config import ConfigError, load_stack_config
from components.config.function import route_problem

BASE = {"aws:region": "us-east-1"}
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:aws-compute/dev/greeting-AbC123"


def function_settings(**values: str):
    return load_stack_config({**BASE, **{f"aws-compute:function.{k}": v for k, v in values.items()}}, "dev").function


def problems_of(**values: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        function_settings(**values)
    return [str(p) for p in caught.value.problems]


def test_the_defaults_are_the_seeds_current_python_on_arm_with_128_mb_and_30_s():
    settings = function_settings()
    assert (settings.enabled, settings.runtime, settings.architecture) == (False, "python3.13", "arm64")
    assert (settings.memory, settings.timeout, settings.route) == (128, 30, "GET /hello")
    assert (settings.reserved_concurrency, settings.secret_arn, settings.s3_bucket, settings.s3_prefix) == (
        -1, "", "", "")
    assert (settings.in_vpc, settings.dead_letter, settings.log_retention_days) == (False, False, 365)
    assert settings.authorization == "AWS_IAM"


def test_values_arrive_as_the_cli_marshals_them():
    settings = function_settings(enabled="true", memory="1024", timeout="900", reservedConcurrency="900",
                                 architecture="x86_64", runtime="python3.14", route="POST /greet/{name}",
                                 throttlingBurstLimit="5000", throttlingRateLimit="10000", inVpc="true",
                                 secretArn=SECRET_ARN, s3Bucket="my-data.example", s3Prefix="greetings/",
                                 deadLetter="true", logRetentionDays="3653")
    assert (settings.memory, settings.timeout, settings.reserved_concurrency) == (1024, 900, 900)
    assert (settings.runtime, settings.architecture, settings.route) == ("python3.14", "x86_64", "POST /greet/{name}")
    assert (settings.throttling_burst_limit, settings.throttling_rate_limit) == (5000, 10000)
    assert (settings.s3_bucket, settings.s3_prefix, settings.secret_arn) == ("my-data.example", "greetings/",
                                                                             SECRET_ARN)


def test_a_reserved_concurrency_of_zero_is_kept_to_stop_all_invocations():
    assert function_settings(reservedConcurrency="0").reserved_concurrency == 0


@pytest.mark.parametrize("route", ["GET /", "ANY /hello", "GET /hello/{name}", "GET /files/{proxy+}",
                                   "DELETE /v1/items/{id}/tags", "GET /a.b_c~d-e"])
def test_well_formed_routes_are_accepted(route):
    assert route_problem(route) is None


# Each bad value: the key under function., the value, a fragment of what the message must say is allowed.
BAD_VALUES = [
    ("runtime", "python3.9", "python3.12 | python3.13 | python3.14"),
    ("runtime", "python3.11", "python3.12 | python3.13 | python3.14"),
    ("runtime", "nodejs22.x", "python3.12 | python3.13 | python3.14"),
    ("architecture", "arm", "arm64 | x86_64"),
    ("authorization", "JWT", "AWS_IAM | NONE"),
    ("memory", "127", "from 128 to 10240"),
    ("memory", "10241", "from 128 to 10240"),
    ("memory", "1.5", "from 128 to 10240"),
    ("memory", "lots", "from 128 to 10240"),
    ("timeout", "0", "from 1 to 900"),
    ("timeout", "901", "from 1 to 900"),
    ("reservedConcurrency", "-2", "-1 (none)"),
    ("reservedConcurrency", "many", "at least the value + 100"),
    ("route", "/hello", "'<method> <path>'"),
    ("route", "FETCH /hello", "method one of ANY, GET"),
    ("route", "GET hello", "'<method> <path>'"),
    ("route", "GET /hello/", "'<method> <path>'"),
    ("route", "GET /a//b", "'<method> <path>'"),
    ("route", "GET /{proxy+}/more", "a {greedy+} parameter only last"),
    ("route", "GET /he llo", "'<method> <path>'"),
    ("route", "get /hello", "method one of ANY, GET"),
    ("throttlingBurstLimit", "-1", "from 0 to 5000"),
    ("throttlingBurstLimit", "5001", "from 0 to 5000"),
    ("throttlingRateLimit", "10001", "from 0 to 10000"),
    ("inVpc", "maybe", "true | false"),
    ("deadLetter", "yes please", "true | false"),
    ("secretArn", "my-secret", "a Secrets Manager secret ARN"),
    ("secretArn", "arn:aws:ssm:us-east-1:123456789012:parameter/greeting", "a Secrets Manager secret ARN"),
    ("secretArn", "arn:aws:secretsmanager:us-east-1:1234:secret:greeting-AbC123", "a Secrets Manager secret ARN"),
    ("s3Bucket", "My_Bucket", "an S3 bucket name"),
    ("s3Bucket", "ab", "an S3 bucket name"),
    ("s3Bucket", "192.168.1.1", "not an IP address"),
    ("logRetentionDays", "45", "3653"),
    ("logRetentionDays", "0", "3653"),
]


@pytest.mark.parametrize(("key", "value", "allowed"), BAD_VALUES,
                         ids=[f"{key}={value}" for key, value, _ in BAD_VALUES])
def test_a_bad_value_is_refused_naming_the_key_the_value_and_what_is_allowed(key, value, allowed):
    extra = {"s3Prefix": "greetings/"} if key == "s3Bucket" else {}
    (problem,) = problems_of(**{key: value}, **extra)
    assert problem.startswith(f"aws-compute:function.{key} = ")
    assert value in problem
    assert "allowed: " in problem and allowed in problem


def test_a_bucket_without_a_prefix_is_refused_on_the_prefix():
    (problem,) = problems_of(s3Bucket="my-data")
    assert problem.startswith("aws-compute:function.s3Prefix = (missing): required when s3Bucket is set")


def test_a_prefix_without_a_bucket_is_refused():
    (problem,) = problems_of(s3Prefix="greetings/")
    assert problem.startswith('aws-compute:function.s3Prefix = "greetings/": given without s3Bucket')


@pytest.mark.parametrize("prefix", ["/greetings/", "greetings/*", "a" * 513])
def test_a_malformed_prefix_is_refused(prefix):
    (problem,) = problems_of(s3Bucket="my-data", s3Prefix=prefix)
    assert problem.startswith("aws-compute:function.s3Prefix = ") and "not a valid key prefix" in problem


def test_an_unknown_key_is_refused_with_a_suggestion():
    (problem,) = problems_of(memorySize="256")
    assert "aws-compute:function.memorySize" in problem and "did you mean aws-compute:function.memory?" in problem


def test_every_bad_key_is_reported_at_once():
    assert len(problems_of(memory="64", timeout="0", route="nope")) == 3


def test_a_secret_in_the_stacks_region_passes_the_region_check():
    assert function_settings(secretArn=SECRET_ARN).region_problems("us-east-1") == []


def test_a_secret_in_another_region_is_refused_naming_both_regions():
    (problem,) = function_settings(secretArn=SECRET_ARN).region_problems("eu-west-1")
    assert problem.key == "aws-compute:function.secretArn" and problem.value == SECRET_ARN
    assert "in us-east-1, not in the stack's region; allowed: a secret in eu-west-1" in problem.message


def test_a_reservation_above_the_old_1000_account_default_is_accepted_for_raised_quotas():
    # The quota is the account's, read by the preflight's deploy readiness, not a fixed 1,000.
    assert function_settings(reservedConcurrency="4900").reserved_concurrency == 4900


def test_no_concurrency_is_reserved_by_default():
    assert function_settings().reserved_concurrency == -1
