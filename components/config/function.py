"""The ``function`` section: the Lambda function behind an HTTP API."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import ValidationInfo, field_validator, model_validator

from .base import LOG_RETENTION_ALLOWED, ConfigError, LogRetentionDays, Problem, Section, full_key, setting

# Python runtimes Lambda supports and has not deprecated (python3.10 and 3.11 were deprecated on
# 2026-06-30); the handler in app/function is Python.
SUPPORTED_RUNTIMES = ("python3.12", "python3.13", "python3.14")
Runtime = Literal["python3.12", "python3.13", "python3.14"]

MIN_MEMORY_MB, MAX_MEMORY_MB = 128, 10240
# Lambda function names: 1-64 letters, digits, - and _ (CreateFunction's FunctionName). The component names the
# function <project>-<stack>-<name> and keeps 10 characters after the prefix for the name or its digest.
MAX_FUNCTION_NAME = 64
_FUNCTION_NAME_CHARS = re.compile(r"[A-Za-z0-9_-]+")
MIN_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS = 1, 900
# Lambda keeps 100 of the account's concurrent executions unreserved for the functions that reserve none
# ("You can reserve up to the Unreserved account concurrency value, minus 100": Lambda developer guide,
# "Configuring reserved concurrency"). New accounts often start with a quota of 10 or 50, not 1,000, and
# then cannot reserve any (UnreservedConcurrentExecution below its minimum value).
UNRESERVED_MINIMUM = 100
# HTTP API account quotas per region: 5,000 burst and 10,000 requests per second.
MAX_THROTTLING_BURST, MAX_THROTTLING_RATE = 5000, 10000

ROUTE_METHODS = ("ANY", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+|\{[A-Za-z0-9_]+\}")
_GREEDY_SEGMENT = re.compile(r"\{[A-Za-z0-9_]+\+\}")
_SECRET_ARN = re.compile(
    r"arn:(?P<partition>aws|aws-cn|aws-us-gov):secretsmanager:(?P<region>[a-z]{2}(-gov)?-[a-z]+-\d):"
    r"(?P<account>\d{12}):secret:[A-Za-z0-9/_+=.@-]{1,512}-[A-Za-z0-9]{6}"
)
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_LIKE = re.compile(r"\d+\.\d+\.\d+\.\d+")
_PREFIX = re.compile(r"[A-Za-z0-9!_.'()/-]{1,512}")


def route_problem(route: str) -> str | None:
    """Why an HTTP API route key such as ``GET /hello`` is malformed, or None when it is well formed."""
    method, space, path = route.partition(" ")
    if not space or method not in ROUTE_METHODS:
        return f"the route must start with a method ({', '.join(ROUTE_METHODS)}) and a space"
    if path == "/":
        return None
    if not path.startswith("/") or path.endswith("/"):
        return "the path must start with '/' and not end with one"
    segments = path[1:].split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if not (_PATH_SEGMENT.fullmatch(segment) or (last and _GREEDY_SEGMENT.fullmatch(segment))):
            return f"path segment '{segment}' is neither a literal nor a {{parameter}} (a {{greedy+}} only last)"
    return None


class FunctionSettings(Section):
    enabled: bool = setting(
        False, "Create the Lambda function behind an HTTP API.", "true | false"
    )
    runtime: Runtime = setting(
        "python3.13", "Lambda runtime of the handler in app/function.",
        " | ".join(SUPPORTED_RUNTIMES) + " (Lambda's supported, not deprecated Python runtimes)",
    )
    architecture: Literal["arm64", "x86_64"] = setting(
        "arm64", "Processor architecture; arm64 (Graviton) costs less per GB-second.", "arm64 | x86_64",
    )
    memory: int = setting(
        128, "Memory of the function in MB; CPU is allotted in proportion.",
        f"an integer from {MIN_MEMORY_MB} to {MAX_MEMORY_MB}", ge=MIN_MEMORY_MB, le=MAX_MEMORY_MB,
    )
    timeout: int = setting(
        30, "Seconds an invocation may run before Lambda stops it.",
        f"an integer from {MIN_TIMEOUT_SECONDS} to {MAX_TIMEOUT_SECONDS}",
        ge=MIN_TIMEOUT_SECONDS, le=MAX_TIMEOUT_SECONDS,
    )
    reserved_concurrency: int = setting(
        -1, "Concurrent executions reserved for (and capping) the function; -1 (the default) reserves none. "
        f"Reserving R needs an account concurrency quota of at least R + {UNRESERVED_MINIMUM} (Lambda keeps "
        f"{UNRESERVED_MINIMUM} unreserved), which new accounts (often 10 or 50) do not have.",
        f"-1 (none), or an integer from 0 (0 stops every invocation); the region's Lambda concurrency quota must "
        f"be at least the value + {UNRESERVED_MINIMUM}",
        ge=-1,
    )
    route: str = setting(
        "GET /hello", "HTTP API route that invokes the function: a method, a space and a path.",
        f"'<method> <path>', method one of {', '.join(ROUTE_METHODS)}; path '/' or '/'-separated literals "
        f"and {{parameters}}, a {{greedy+}} parameter only last",
    )
    authorization: Literal["AWS_IAM", "NONE"] = setting(
        "AWS_IAM", "Who may call the route: SigV4-signed requests of IAM principals with execute-api:Invoke, "
        "or anyone (then also list the route in the policy apigateway-route-authorization's publicRouteKeys).",
        "AWS_IAM | NONE",
    )
    throttling_burst_limit: int = setting(
        100, "Requests the API's default route accepts in a burst before throttling.",
        f"an integer from 0 to {MAX_THROTTLING_BURST}", ge=0, le=MAX_THROTTLING_BURST,
    )
    throttling_rate_limit: int = setting(
        50, "Steady requests per second the API's default route accepts before throttling.",
        f"an integer from 0 to {MAX_THROTTLING_RATE}", ge=0, le=MAX_THROTTLING_RATE,
    )
    in_vpc: bool = setting(
        False, "Place the function in the network's private subnets, with its own egress-only security group.",
        "true | false",
    )
    secret_arn: str = setting(
        "", "Secrets Manager secret the function reads by ARN (its greeting); the role may read only this one.",
        "empty (none), or a Secrets Manager secret ARN (arn:aws:secretsmanager:<stack region>:<account>:secret:"
        "<name>-<6 characters>) in the stack's region",
    )
    s3_bucket: str = setting(
        "", "S3 bucket the function may read objects from, under s3Prefix only.",
        "empty (none), or an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, not an IP address; "
        "set together with s3Prefix",
    )
    s3_prefix: str = setting(
        "", "Key prefix under s3Bucket that the function may read (s3:GetObject on <bucket>/<prefix>*).",
        "empty (none), or a key prefix of 1-512 letters, digits and !_.'()/- not starting with '/'; set together "
        "with s3Bucket",
    )
    dead_letter: bool = setting(
        False, "Send events that fail every asynchronous attempt to an SQS queue encrypted with the stack's key.",
        "true | false",
    )
    log_retention_days: LogRetentionDays = setting(
        365, "Days the function's and the API's logs are kept.",
        LOG_RETENTION_ALLOWED,
    )

    @model_validator(mode="before")
    @classmethod
    def _judge_the_prefix_whenever_a_bucket_is_given(cls, data: Any) -> Any:
        # A field validator runs only on given values; an explicit empty s3Prefix makes its validator
        # run, and the error then names s3Prefix rather than the whole section.
        if isinstance(data, dict) and {"s3Bucket", "s3_bucket"} & data.keys() \
                and not {"s3Prefix", "s3_prefix"} & data.keys():
            return {**data, "s3Prefix": ""}
        return data

    @field_validator("route")
    @classmethod
    def _well_formed_route(cls, value: str) -> str:
        problem = route_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("secret_arn")
    @classmethod
    def _secret_arn_format(cls, value: str) -> str:
        if value and not _SECRET_ARN.fullmatch(value):
            raise ValueError("not a Secrets Manager secret ARN")
        return value

    @field_validator("s3_bucket")
    @classmethod
    def _bucket_name(cls, value: str) -> str:
        if value and (not _BUCKET.fullmatch(value) or _IP_LIKE.fullmatch(value) or ".." in value):
            raise ValueError("not a valid S3 bucket name")
        return value

    @field_validator("s3_prefix")
    @classmethod
    def _prefix_paired_with_bucket(cls, value: str, info: ValidationInfo) -> str:
        if value and (not _PREFIX.fullmatch(value) or value.startswith("/")):
            raise ValueError("not a valid key prefix")
        if "s3_bucket" not in info.data:  # the bucket itself is invalid, and already reported
            return value
        bucket = info.data["s3_bucket"]
        if bucket and not value:
            raise ValueError("required when s3Bucket is set (the function never reads a whole bucket)")
        if value and not bucket:
            raise ValueError("given without s3Bucket")
        return value

    def region_problems(self, region: str) -> list[Problem]:
        """The secret must live in the stack's region: the function reads it through the regional endpoint."""
        match = _SECRET_ARN.fullmatch(self.secret_arn) if self.secret_arn else None
        if match and match["region"] != region:
            return [Problem(full_key("function", "secretArn"), self.secret_arn,
                            f"the secret is in {match['region']}, not in the stack's region; allowed: a secret "
                            f"in {region}")]
        return []

    def check_region(self, region: str) -> None:
        """Raise ConfigError when a setting does not fit the stack's region."""
        problems = self.region_problems(region)
        if problems:
            raise ConfigError(problems)


def function_name_fits(config: Any) -> list[Problem]:
    """The stack name is part of the Lambda function's fixed name, so it must fit Lambda's limits."""
    if not config.function.enabled:
        return []
    prefix = f"{config.project}-{config.stack}"
    room = MAX_FUNCTION_NAME - 10 - len(config.project) - 1
    if _FUNCTION_NAME_CHARS.fullmatch(prefix) and len(prefix) <= MAX_FUNCTION_NAME - 10:
        return []
    return [Problem("stack name", config.stack,
                    f"the Lambda function is named {prefix}-function, and Lambda allows {MAX_FUNCTION_NAME} characters "
                    f"of letters, digits, - and _ ({len(prefix) + len('-function')} here); allowed: a stack name of at "
                    f"most {room} such characters, or {full_key('function', 'enabled')} false")]
