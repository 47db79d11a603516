"""Serverless policies: Lambda functions and API Gateway (catalog section E, rows F3-F14 and G1-G12).

F1/F2 (who may invoke a function) are resource-policy questions and live with the IAM rules.
API Gateway rows cover both REST APIs (``aws:apigateway/*``) and HTTP/WebSocket APIs
(``aws:apigatewayv2/*``) wherever AWS offers the setting for both.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from .base import (
    Resource,
    Stack,
    as_list,
    indexed,
    is_enabled,
    is_unknown,
    require_true,
    resource_rule,
    stack_rule,
    unverifiable,
)
from .waf import KNOWN_BAD_INPUTS, guards_only_rest_stages

FUNCTION = "aws:lambda/function:Function"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
PERMISSION = "aws:lambda/permission:Permission"
EVENT_INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
SUBNET = "aws:ec2/subnet:Subnet"
REST_API = "aws:apigateway/restApi:RestApi"
REST_STAGE = "aws:apigateway/stage:Stage"
REST_METHOD = "aws:apigateway/method:Method"
METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
REST_DOMAIN = "aws:apigateway/domainName:DomainName"
V2_API = "aws:apigatewayv2/api:Api"
V2_STAGE = "aws:apigatewayv2/stage:Stage"
V2_ROUTE = "aws:apigatewayv2/route:Route"
V2_DOMAIN = "aws:apigatewayv2/domainName:DomainName"
WAF_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"

# Runtimes AWS still supports (not past their deprecation date) as of November 2026, per the Lambda
# runtimes page: python3.9 (Dec 2025), nodejs18.x (Sep 2025), nodejs20.x (Apr 2026), python3.10 and
# python3.11 (Jun 2026), ruby3.2, dotnet8 and the Amazon Linux 2 runtimes are deprecated or about to be.
# The same Python list as components/config/function.py, so the config refuses what the pack would.
SUPPORTED_RUNTIMES = (
    "python3.12", "python3.13", "python3.14",
    "nodejs22.x", "nodejs24.x",
    "java17", "java21", "java25",
    "dotnet10",
    "ruby3.3", "ruby3.4",
    "provided.al2023",
)
# Principals that invoke a function synchronously: the caller gets the error, a DLQ never sees it.
SYNCHRONOUS_INVOKERS = ("apigateway.amazonaws.com", "elasticloadbalancing.amazonaws.com")
ROUTE_AUTHORIZATIONS = ("AWS_IAM", "CUSTOM", "JWT")


def _text(value: Any) -> str:
    """A property as a stripped string: empty when missing or not a string."""
    return value.strip() if isinstance(value, str) else ""


def _is_set(value: Any) -> bool:
    """True for a non-empty string, including an unknown one: an ARN from another resource is set."""
    return bool(_text(value))


def refers_to(resource: Resource, prop: str, target: Resource) -> bool:
    """Whether ``resource.prop`` names ``target``: by its ID, name or ARN, or, when those are unknown
    during preview, by a property dependency on the target's URN."""
    if target.urn and target.urn in resource.property_dependencies.get(prop, ()):
        return True
    value = resource.get(prop)
    if not isinstance(value, str) or is_unknown(value) or not value:
        return False
    return value in {v for v in (target.get("id"), target.get("name"), target.get("arn")) if isinstance(v, str)}


# --- Secrets in environment variables (shared with the containers rules) -------------------------

ALWAYS_SECRET_NAMES = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                 "ECS_ENGINE_AUTH_DATA"})
SECRET_WORDS = frozenset({"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "CREDENTIAL", "CREDENTIALS",
                          "APIKEY"})
SECRET_WORD_PAIRS = frozenset({("API", "KEY"), ("PRIVATE", "KEY"), ("ACCESS", "KEY"), ("SECRET", "KEY"),
                               ("SIGNING", "KEY"), ("ENCRYPTION", "KEY"), ("HMAC", "KEY"), ("MASTER", "KEY"),
                               ("AUTH", "DATA")})
# A name ending in one of these holds where the secret is or a setting about it (DB_PASSWORD_SECRET_ARN,
# TOKEN_TTL), not the secret itself.
NOT_SECRET_SUFFIXES = frozenset({"ARN", "NAME", "ID", "PARAM", "PARAMETER", "PATH", "REF", "FILE", "URL", "URI",
                             "HEADER", "ENDPOINT", "TTL", "EXPIRY", "LENGTH", "ENABLED"})
SECRET_VALUE_SHAPES = (
    (re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"), "an AWS access key id"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key block"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "a GitHub token"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(r"://[^/\s:@]+:[^/\s@]+@"), "a URL with an embedded password"),
)
REFERENCE_VALUE = re.compile(r"^(?:arn:[\w-]+:|\{\{resolve:|/[\w.\-]+(?:/[\w.\-]+)+$)")


def _words(name: str) -> list[str]:
    """DB_PASSWORD, dbPassword and db-password all become ["DB", "PASSWORD"]."""
    return [w.upper() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)]


def is_secret_name(name: str) -> bool:
    if name.upper() in ALWAYS_SECRET_NAMES:
        return True
    words = _words(name)
    if not words or words[-1] in NOT_SECRET_SUFFIXES:
        return False
    return any(w in SECRET_WORDS for w in words) or any(p in SECRET_WORD_PAIRS for p in itertools.pairwise(words))


def _is_plain_setting(value: str) -> bool:
    """Values no secret takes: empty, a flag, a number, or a reference to where the secret lives."""
    text = value.strip()
    return (not text or text.lower() in ("true", "false", "yes", "no", "none") or text.isdigit()
            or bool(REFERENCE_VALUE.match(text)))


def secret_findings(variables: Iterable[tuple[str, Any]], path: Callable[[str], str]) -> Iterator[str]:
    """Messages for environment variables that carry a secret, judged by name and by value shape.
    Messages never repeat the value."""
    for name, value in variables:
        if not isinstance(name, str):
            continue
        where = path(name)
        if is_unknown(value):
            if is_secret_name(name):
                yield unverifiable(where) + "; a secret-like name needs a reference, not a value"
            continue
        if not isinstance(value, str):
            continue
        shape = next((label for pattern, label in SECRET_VALUE_SHAPES if pattern.search(value)), None)
        if shape:
            yield f"{where} holds {shape}; allowed: no credentials in plain environment variables"
        elif is_secret_name(name) and not _is_plain_setting(value):
            yield (f"{where} holds a literal value under a secret-like name; allowed: empty, or a reference "
                   f"(a Secrets Manager/SSM ARN, a parameter path or {{{{resolve:...}}}}) read at run time")


# --- Lambda functions ------------------------------------------------------------------------------

@resource_rule(
    name="lambda-supported-runtime",
    description="Ensure Lambda functions use a runtime that AWS supports and the team has approved.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_363", "fsbp:Lambda.2", "catalog:F3"],
    remediation="Set runtime to a supported identifier, e.g. aws.lambda_.Function(runtime='python3.13', ...); "
                "the approved list is this policy's allowedRuntimes config.",
    types=[FUNCTION],
    config={"allowedRuntimes": {"type": "array", "items": {"type": "string"}, "default": list(SUPPORTED_RUNTIMES),
                                "description": "Runtime identifiers a function may use."}},
)
def lambda_supported_runtime(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    runtime = resource.get("runtime")
    if resource.get("packageType") == "Image" or runtime is None:
        return  # container images bring their own runtime; Zip without runtime is rejected by AWS itself
    if is_unknown(runtime):
        yield unverifiable("runtime")
    elif runtime not in config["allowedRuntimes"]:
        yield f"runtime = {runtime!r}; allowed: {', '.join(config['allowedRuntimes'])}"


@resource_rule(
    name="lambda-xray-tracing",
    description="Ensure Lambda functions send traces to AWS X-Ray (tracing mode Active).",
    severity="low",
    enforcement="advisory",
    controls=["checkov:CKV_AWS_50", "trivy:AVD-AWS-0066", "pulumi-crp:aws-lambda-function-enable-tracing-config",
              "catalog:F4"],
    remediation="Set tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode='Active') and allow "
                "xray:PutTraceSegments and xray:PutTelemetryRecords in the execution role.",
    types=[FUNCTION],
    config={"allowPassThrough": {"type": "boolean", "default": False,
                                 "description": "Also accept PassThrough (trace only when the caller samples)."}},
)
def lambda_xray_tracing(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    tracing = resource.get("tracingConfig")
    mode = tracing.get("mode") if isinstance(tracing, Mapping) else tracing
    allowed = ("Active", "PassThrough") if config["allowPassThrough"] else ("Active",)
    if is_unknown(mode):
        yield unverifiable("tracingConfig.mode")
    elif mode not in allowed:
        yield f"tracingConfig.mode = {mode!r}; allowed: {', '.join(allowed)}"


def _vpc_config(function: Resource) -> Any:
    return function.get("vpcConfig")


@resource_rule(
    name="lambda-in-vpc",
    description="Ensure Lambda functions run attached to the VPC's subnets and security groups.",
    severity="low",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_117", "fsbp:Lambda.3", "catalog:F5"],
    remediation="Set vpc_config=aws.lambda_.FunctionVpcConfigArgs(subnet_ids=network.private_subnet_ids, "
                "security_group_ids=[sg.id]) and attach AWSLambdaVPCAccessExecutionRole to the role.",
    types=[FUNCTION],
)
def lambda_in_vpc(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    vpc = _vpc_config(resource)
    if is_unknown(vpc):
        yield unverifiable("vpcConfig")
        return
    subnets = vpc.get("subnetIds") if isinstance(vpc, Mapping) else None
    if is_unknown(subnets):
        return  # an unknown list of subnet ids is still a VPC attachment
    if not as_list(subnets):
        yield "vpcConfig.subnetIds is empty or missing; allowed: at least one private subnet id"


@stack_rule(
    name="lambda-vpc-multi-az",
    description="Ensure each VPC-attached Lambda function has subnets in at least two Availability Zones.",
    severity="medium",
    enforcement="mandatory",
    controls=["fsbp:Lambda.5", "catalog:F6"],
    remediation="Give vpc_config.subnet_ids one private subnet per AZ, e.g. network.private_subnet_ids with "
                "aws-compute:network.azCount of 2 or more.",
    config={"minimumZones": {"type": "integer", "minimum": 1, "default": 2,
                             "description": "Availability Zones a VPC function's subnets must span."}},
)
def lambda_vpc_multi_az(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    subnets = stack.of_type(SUBNET)
    for function in stack.of_type(FUNCTION):
        vpc = _vpc_config(function)
        if not isinstance(vpc, Mapping) or vpc.get("subnetIds") is None:
            continue  # not in a VPC: lambda-in-vpc judges that
        message = _zone_shortfall(function, vpc.get("subnetIds"), subnets, config["minimumZones"])
        if message:
            yield function, message


def _zone_shortfall(function: Resource, subnet_ids: Any, subnets: list[Resource], minimum: int) -> str | None:
    ids = [i for i in as_list(subnet_ids) if isinstance(i, str)] if not is_unknown(subnet_ids) else []
    matched = [s for s in subnets if s.id in ids] or \
              [s for s in subnets if s.urn in function.property_dependencies.get("vpcConfig", ())]
    zones = [s.get("availabilityZone") or s.get("availabilityZoneId") for s in matched]
    known_zones = {z for z in zones if isinstance(z, str) and not is_unknown(z)}
    if len(known_zones) >= minimum:
        return None
    matched_ids = [s.id for s in matched]
    unresolved = is_unknown(subnet_ids) or any(not (isinstance(z, str) and not is_unknown(z)) for z in zones) or \
        any(is_unknown(i) or i not in matched_ids for i in ids)
    if unresolved and (is_unknown(subnet_ids) or len(ids) >= minimum):
        return unverifiable("vpcConfig.subnetIds") + " (subnets or their zones are not in this stack's plan)"
    return (f"vpcConfig.subnetIds ({len(ids)} subnet(s)) span {len(known_zones)} Availability Zone(s) "
            f"{sorted(known_zones)}; allowed: at least {minimum}")


@stack_rule(
    name="lambda-dead-letter-queue",
    description="Ensure asynchronously invoked Lambda functions keep failed events: a dead-letter queue or an "
                "on-failure destination.",
    severity="low",
    enforcement="advisory",
    controls=["checkov:CKV_AWS_116", "catalog:F7"],
    remediation="Set dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(target_arn=queue.arn) (and allow "
                "sqs:SendMessage in the role), or add aws.lambda_.FunctionEventInvokeConfig with "
                "destination_config.on_failure.destination.",
    config={"exemptSynchronousOnly": {
        "type": "boolean", "default": True,
        "description": "Exempt functions whose only invokers are API Gateway or a load balancer: a synchronous "
                       "caller receives the error, so nothing reaches a DLQ."}},
)
def lambda_dead_letter_queue(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    permissions = stack.of_type(PERMISSION)
    invoke_configs = stack.of_type(EVENT_INVOKE_CONFIG)
    for function in stack.of_type(FUNCTION):
        dlq = function.get("deadLetterConfig")
        if isinstance(dlq, Mapping) and _is_set(dlq.get("targetArn")):
            continue
        if any(refers_to(c, "functionName", function) and _on_failure_destination(c) for c in invoke_configs):
            continue
        invokers = [_text(p.get("principal")) for p in permissions if refers_to(p, "function", function)]
        if config["exemptSynchronousOnly"] and invokers and all(i in SYNCHRONOUS_INVOKERS for i in invokers):
            continue
        yield function, ("deadLetterConfig.targetArn is not set and no FunctionEventInvokeConfig sends failures "
                         "to a destination; allowed: either")


def _on_failure_destination(invoke_config: Resource) -> bool:
    destinations = invoke_config.get("destinationConfig")
    failure = destinations.get("onFailure") if isinstance(destinations, Mapping) else None
    return isinstance(failure, Mapping) and _is_set(failure.get("destination"))


@resource_rule(
    name="lambda-reserved-concurrency",
    description="Ensure Lambda functions reserve concurrency, so one function cannot starve the account's pool.",
    severity="low",
    enforcement="advisory",
    controls=["checkov:CKV_AWS_115", "catalog:F8"],
    remediation="Set reserved_concurrent_executions on aws.lambda_.Function to the function's expected peak, "
                "e.g. 50.",
    types=[FUNCTION],
)
def lambda_reserved_concurrency(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    reserved = resource.get("reservedConcurrentExecutions")
    if is_unknown(reserved):
        yield unverifiable("reservedConcurrentExecutions")
    elif reserved is None or isinstance(reserved, bool) or not isinstance(reserved, (int, float)) or reserved < 0:
        yield f"reservedConcurrentExecutions = {reserved!r}; allowed: a number of 0 or more (-1 means unreserved)"


@resource_rule(
    name="lambda-environment-encrypted-with-cmk",
    description="Ensure a Lambda function's environment variables are encrypted with a customer-managed KMS key.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_173", "catalog:F9"],
    remediation="Set kms_key_arn=stack_key.key_arn on the function and allow kms:Decrypt on that key to the role.",
    types=[FUNCTION],
)
def lambda_environment_cmk(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if _is_set(resource.get("kmsKeyArn")):
        return
    environment = resource.get("environment")
    variables = environment.get("variables") if isinstance(environment, Mapping) else None
    if is_unknown(environment) or is_unknown(variables):
        yield unverifiable("environment.variables") + " (with no kmsKeyArn, any variable would need one)"
    elif isinstance(variables, Mapping) and variables:
        yield "environment.variables is set but kmsKeyArn is not; allowed: a customer-managed KMS key ARN"


@resource_rule(
    name="lambda-no-secrets-in-environment",
    description="Ensure Lambda environment variables carry no secrets: no credential-shaped values and no "
                "literal values under names like PASSWORD, TOKEN or API_KEY.",
    severity="critical",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_45", "catalog:F10"],
    remediation="Store the secret in aws.secretsmanager.Secret, pass its ARN (e.g. DB_PASSWORD_SECRET_ARN) and "
                "read it at run time; grant secretsmanager:GetSecretValue on that ARN only.",
    types=[FUNCTION],
)
def lambda_no_secrets(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    environment = resource.get("environment")
    variables = environment.get("variables") if isinstance(environment, Mapping) else None
    if isinstance(variables, Mapping):
        yield from secret_findings(variables.items(), lambda name: f"environment.variables.{name}")


@resource_rule(
    name="lambda-code-signing",
    description="Ensure Lambda functions accept only code signed by a trusted signing profile.",
    severity="medium",
    enforcement="advisory",
    controls=["checkov:CKV_AWS_272", "catalog:F11"],
    remediation="Create aws.signer.SigningProfile and aws.lambda_.CodeSigningConfig(allowed_publishers=...) and "
                "set code_signing_config_arn on the function.",
    types=[FUNCTION],
)
def lambda_code_signing(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if resource.get("packageType") == "Image":
        return  # code signing applies to .zip packages only
    if not _is_set(resource.get("codeSigningConfigArn")):
        yield "codeSigningConfigArn is not set; allowed: the ARN of a code signing config"


@resource_rule(
    name="lambda-function-url-requires-auth",
    description="Ensure Lambda function URLs require IAM authentication.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_258", "catalog:F12"],
    remediation="Set authorization_type='AWS_IAM' on aws.lambda_.FunctionUrl, or put the function behind the "
                "HTTP API with an authorizer instead.",
    types=[FUNCTION_URL],
)
def lambda_function_url_auth(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    authorization = resource.get("authorizationType")
    if is_unknown(authorization):
        yield unverifiable("authorizationType")
    elif authorization != "AWS_IAM":
        yield f"authorizationType = {authorization!r}; allowed: AWS_IAM"


@resource_rule(
    name="lambda-function-url-cors-restricted",
    description="Ensure a Lambda function URL's CORS does not allow every origin or every method.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV2_AWS_75", "catalog:F13"],
    remediation="List the web origins and methods the browser app uses, e.g. cors=aws.lambda_.FunctionUrlCorsArgs("
                "allow_origins=['https://app.example.com'], allow_methods=['GET', 'POST']).",
    types=[FUNCTION_URL],
)
def lambda_function_url_cors(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    cors = resource.get("cors")
    if not isinstance(cors, Mapping):
        return  # no CORS: browsers on other origins are refused
    for key in ("allowOrigins", "allowMethods"):
        for i, value in indexed(cors.get(key)):
            if isinstance(value, str) and value.strip() == "*":
                yield f"cors.{key}[{i}] = '*'; allowed: named origins and methods"


@resource_rule(
    name="lambda-function-has-description",
    description="Ensure Lambda functions have a description saying what they do.",
    severity="low",
    enforcement="advisory",
    controls=["pulumi-crp:aws-lambda-function-missing-description", "catalog:F14"],
    remediation="Set description='...' on aws.lambda_.Function.",
    types=[FUNCTION],
)
def lambda_description(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if not _is_set(resource.get("description")):
        yield "description is empty or missing; allowed: a sentence saying what the function does"


# --- API Gateway stages ------------------------------------------------------------------------------

@resource_rule(
    name="apigateway-stage-access-logging",
    description="Ensure every API Gateway stage (REST, HTTP and WebSocket) writes access logs.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_76", "fsbp:APIGateway.9", "trivy:AVD-AWS-0001",
              "pulumi-crp:aws-apigatewayv2-stage-enable-access-logging", "catalog:G1"],
    remediation="Set access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(destination_arn=log_group.arn, "
                "format=json.dumps({...})) on the stage.",
    types=[REST_STAGE, V2_STAGE],
)
def apigateway_access_logging(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    settings = resource.get("accessLogSettings")
    if is_unknown(settings):
        yield unverifiable("accessLogSettings")
        return
    settings = settings if isinstance(settings, Mapping) else {}
    for key in ("destinationArn", "format"):
        if not _is_set(settings.get(key)):
            yield f"accessLogSettings.{key} is not set; allowed: a log group ARN and a log format"


@stack_rule(
    name="apigateway-execution-logging",
    description="Ensure REST and WebSocket API stages log execution at ERROR or INFO level, and REST stages "
                "publish CloudWatch metrics.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV2_AWS_4", "fsbp:APIGateway.1", "catalog:G2"],
    remediation="REST: add aws.apigateway.MethodSettings(rest_api=api.id, stage_name=stage.stage_name, "
                "method_path='*/*', settings={'logging_level': 'ERROR', 'metrics_enabled': True}). WebSocket: set "
                "default_route_settings.logging_level='ERROR' on the stage.",
    config={"allowedLevels": {"type": "array", "items": {"type": "string", "enum": ["ERROR", "INFO"]},
                              "default": ["ERROR", "INFO"], "description": "Accepted execution logging levels."}},
)
def apigateway_execution_logging(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    levels = config["allowedLevels"]
    method_settings = stack.of_type(METHOD_SETTINGS)
    for stage in stack.of_type(REST_STAGE):
        covering = [m for m in method_settings if _settings_cover_stage(m, stage)]
        if not covering:
            yield stage, ("no aws:apigateway/methodSettings:MethodSettings with methodPath '*/*' for this stage; "
                          f"allowed: one with settings.loggingLevel in {levels} and settings.metricsEnabled true")
        for m in covering:
            settings = m.get("settings") if isinstance(m.get("settings"), Mapping) else {}
            if settings.get("loggingLevel") not in levels and not is_unknown(settings.get("loggingLevel")):
                yield m, f"settings.loggingLevel = {settings.get('loggingLevel')!r}; allowed: {', '.join(levels)}"
            if settings.get("metricsEnabled") is not True and not is_unknown(settings.get("metricsEnabled")):
                yield m, f"settings.metricsEnabled = {settings.get('metricsEnabled')!r}; allowed: true"
    websocket_apis = [a for a in stack.of_type(V2_API) if a.get("protocolType") == "WEBSOCKET"]
    for stage in stack.of_type(V2_STAGE):
        if not any(refers_to(stage, "apiId", api) for api in websocket_apis):
            continue  # HTTP APIs have access logs only
        route = stage.get("defaultRouteSettings") if isinstance(stage.get("defaultRouteSettings"), Mapping) else {}
        if route.get("loggingLevel") not in levels:
            yield stage, (f"defaultRouteSettings.loggingLevel = {route.get('loggingLevel')!r}; "
                          f"allowed: {', '.join(levels)}")


def _same_value_or_dependency(resource: Resource, prop: str, other: Resource) -> bool:
    value, theirs = resource.get(prop), other.get(prop)
    if isinstance(value, str) and not is_unknown(value) and value == theirs:
        return True
    return bool(set(resource.property_dependencies.get(prop, ())) & set(other.property_dependencies.get(prop, ())))


def _settings_cover_stage(method_settings: Resource, stage: Resource) -> bool:
    if method_settings.get("methodPath") != "*/*":
        return False
    same_stage = (_same_value_or_dependency(method_settings, "stageName", stage)
                  or stage.urn in method_settings.property_dependencies.get("stageName", ()))
    return same_stage and _same_value_or_dependency(method_settings, "restApi", stage)


@resource_rule(
    name="apigateway-rest-stage-xray",
    description="Ensure REST API stages trace requests with AWS X-Ray.",
    severity="low",
    enforcement="advisory",
    controls=["checkov:CKV_AWS_73", "fsbp:APIGateway.3", "trivy:AVD-AWS-0003", "catalog:G3"],
    remediation="Set xray_tracing_enabled=True on aws.apigateway.Stage (HTTP APIs do not support X-Ray).",
    types=[REST_STAGE],
)
def apigateway_xray(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    return require_true(resource.get("xrayTracingEnabled"), "xrayTracingEnabled")


@resource_rule(
    name="apigateway-rest-caching-enabled",
    description="Ensure REST API stages have a response cache cluster.",
    severity="low",
    enforcement="advisory",
    controls=["checkov:CKV_AWS_120", "trivy:AVD-AWS-0190", "awsguard:apigateway-stage-cached", "catalog:G4"],
    remediation="Set cache_cluster_enabled=True and cache_cluster_size='0.5' on aws.apigateway.Stage.",
    types=[REST_STAGE],
)
def apigateway_caching(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    return require_true(resource.get("cacheClusterEnabled"), "cacheClusterEnabled")


@resource_rule(
    name="apigateway-cache-encrypted",
    description="Ensure REST API method caches, where caching is on, are encrypted.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_308", "fsbp:APIGateway.5", "trivy:AVD-AWS-0002",
              "awsguard:apigateway-method-cached-and-encrypted", "catalog:G5"],
    remediation="Set settings={'caching_enabled': True, 'cache_data_encrypted': True} on "
                "aws.apigateway.MethodSettings.",
    types=[METHOD_SETTINGS],
)
def apigateway_cache_encrypted(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    settings = resource.get("settings")
    if not isinstance(settings, Mapping) or settings.get("cachingEnabled") is not True:
        return  # no cache, nothing to encrypt (whether to cache is apigateway-rest-caching-enabled's question)
    encrypted = settings.get("cacheDataEncrypted")
    if is_unknown(encrypted):
        yield unverifiable("settings.cacheDataEncrypted")
    elif encrypted is not True:
        yield f"settings.cacheDataEncrypted = {encrypted!r} while settings.cachingEnabled = true; allowed: true"


@resource_rule(
    name="apigateway-data-trace-off",
    description="Ensure API Gateway does not log full request and response bodies (data trace).",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_276", "catalog:G6"],
    remediation="Remove data_trace_enabled (or set it False) from MethodSettings settings and from the stage's "
                "default_route_settings and route_settings.",
    types=[METHOD_SETTINGS, V2_STAGE],
)
def apigateway_data_trace(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if resource.type == METHOD_SETTINGS:
        blocks = [("settings", resource.get("settings"))]
    else:
        blocks = [("defaultRouteSettings", resource.get("defaultRouteSettings")),
                  *((f"routeSettings[{i}]", s) for i, s in indexed(resource.get("routeSettings")))]
    for path, block in blocks:
        if isinstance(block, Mapping) and block.get("dataTraceEnabled") is True:
            yield f"{path}.dataTraceEnabled = true; allowed: false (bodies may carry credentials and personal data)"


@resource_rule(
    name="apigateway-rest-client-certificate",
    description="Ensure REST API stages present a client certificate to their HTTP backends.",
    severity="medium",
    enforcement="advisory",
    controls=["checkov:CKV2_AWS_51", "fsbp:APIGateway.2", "catalog:G7"],
    remediation="Create aws.apigateway.ClientCertificate and set client_certificate_id on the stage; have the "
                "backend verify it.",
    types=[REST_STAGE],
)
def apigateway_client_certificate(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if not _is_set(resource.get("clientCertificateId")):
        yield "clientCertificateId is not set; allowed: the id of an API Gateway client certificate"


@stack_rule(
    name="apigateway-waf-associated",
    description="Ensure each REST API stage is protected by an AWS WAF web ACL that blocks known bad inputs "
                "(Log4j and similar).",
    severity="medium",
    enforcement="advisory",
    controls=["checkov:CKV2_AWS_29", "checkov:CKV2_AWS_77", "fsbp:APIGateway.4", "catalog:G8"],
    remediation="Add aws.wafv2.WebAclAssociation(resource_arn=stage.arn, web_acl_arn=web_acl.arn) with a web ACL "
                "whose rules include the managed group AWSManagedRulesKnownBadInputsRuleSet. HTTP APIs cannot take "
                "WAF: put CloudFront with WAF in front of them.",
    config={"requiredRuleGroups": {"type": "array", "items": {"type": "string"},
                                   "default": ["AWSManagedRulesKnownBadInputsRuleSet"],
                                   "description": "Managed rule groups the associated web ACL must include."}},
)
def apigateway_waf(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    associations = stack.of_type(WAF_ASSOCIATION)
    web_acls = stack.of_type(WEB_ACL)
    for stage in stack.of_type(REST_STAGE):
        guarding = [a for a in associations if refers_to(a, "resourceArn", stage)]
        if not guarding:
            yield stage, "no aws:wafv2/webAclAssociation:WebAclAssociation has this stage's ARN as resourceArn; " \
                         "allowed: one web ACL per stage"
        # A web ACL outside this stack (a central security account's) is trusted as it is.
        for acl in (w for a in guarding for w in web_acls if refers_to(a, "webAclArn", w)):
            missing = [g for g in config["requiredRuleGroups"] if g not in _managed_rule_groups(acl)
                       and not (g == KNOWN_BAD_INPUTS and _log4j_judged_on_the_acl(stack, acl, associations))]
            if missing and not is_unknown(acl.get("rules")) and not is_unknown(acl.get("ruleJson")):
                yield stage, f"web ACL {acl.name or acl.urn} lacks managed rule group(s) {missing}; allowed: a web " \
                             f"ACL including {config['requiredRuleGroups']}"


def _log4j_judged_on_the_acl(stack: Stack, acl: Resource, associations: list[Resource]) -> bool:
    """One defect, one finding: a web ACL that guards more than REST stages (an ALB too) is judged for the Log4j
    rule group by waf-web-acl-log4j-rules, on the ACL; the stages it guards leave that group to it."""
    guards = [a for a in associations if refers_to(a, "webAclArn", acl)]
    return is_enabled("waf-web-acl-log4j-rules") and not guards_only_rest_stages(stack, acl, guards)


def _managed_rule_groups(web_acl: Resource) -> set[str]:
    names = set()
    for rule in as_list(web_acl.get("rules")):
        statement = rule.get("statement") if isinstance(rule, Mapping) else None
        group = statement.get("managedRuleGroupStatement") if isinstance(statement, Mapping) else None
        if isinstance(group, Mapping) and isinstance(group.get("name"), str):
            names.add(group["name"])
    rule_json = web_acl.get("ruleJson")
    if isinstance(rule_json, str):  # AWS's own JSON rule list: the group names appear as "Name" values
        names.update(re.findall(r'"Name"\s*:\s*"([^"]+)"', rule_json))
    return names


@resource_rule(
    name="apigateway-stage-throttling",
    description="Ensure HTTP and WebSocket API stages set default route throttling below the account limit.",
    severity="low",
    enforcement="advisory",
    controls=[],
    remediation="Set default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs("
                "throttling_burst_limit=100, throttling_rate_limit=50) on the stage.",
    types=[V2_STAGE],
)
def apigateway_throttling(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    route = resource.get("defaultRouteSettings")
    route = route if isinstance(route, Mapping) else {}
    for key in ("throttlingBurstLimit", "throttlingRateLimit"):
        value = route.get(key)
        if is_unknown(value):
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            yield f"defaultRouteSettings.{key} = {value!r}; allowed: a positive number"


# --- API Gateway routes, domains and endpoints --------------------------------------------------------

@resource_rule(
    name="apigateway-route-authorization",
    description="Ensure API methods and routes require authorization (IAM, a Lambda/Cognito/JWT authorizer or "
                "an API key); CORS preflight (OPTIONS) and listed public routes are exempt.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_59", "checkov:CKV2_AWS_70", "checkov:CKV_AWS_309", "fsbp:APIGateway.8",
              "trivy:AVD-AWS-0004", "catalog:G9"],
    remediation="HTTP API: set authorization_type='AWS_IAM' (or 'JWT' with authorizer_id) on aws.apigatewayv2.Route. "
                "REST: set authorization='AWS_IAM' or an authorizer on aws.apigateway.Method. List deliberately "
                "public routes in this policy's publicRouteKeys config.",
    types=[REST_METHOD, V2_ROUTE],
    config={"publicRouteKeys": {"type": "array", "items": {"type": "string"}, "default": [],
                                "description": "HTTP API route keys allowed without authorization, e.g. "
                                               "'GET /health'."}},
)
def apigateway_route_authorization(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if resource.type == REST_METHOD:
        if _text(resource.get("httpMethod")).upper() == "OPTIONS" or resource.get("apiKeyRequired") is True:
            return
        authorization = resource.get("authorization")
        if is_unknown(authorization):
            yield unverifiable("authorization")
        elif _text(authorization).upper() in ("", "NONE"):
            yield f"authorization = {authorization!r} and apiKeyRequired is not true; allowed: AWS_IAM, CUSTOM, " \
                  f"COGNITO_USER_POOLS, or an API key"
        return
    route_key = _text(resource.get("routeKey"))
    if route_key.upper().startswith("OPTIONS ") or route_key in config["publicRouteKeys"] or \
            resource.get("apiKeyRequired") is True:
        return
    authorization = resource.get("authorizationType")
    if is_unknown(authorization):
        yield unverifiable("authorizationType")
    elif authorization not in ROUTE_AUTHORIZATIONS:
        yield f"route {route_key!r}: authorizationType = {authorization!r}; allowed: {', '.join(ROUTE_AUTHORIZATIONS)}"


@resource_rule(
    name="apigateway-request-validation",
    description="Ensure REST API methods validate requests before they reach the backend.",
    severity="low",
    enforcement="advisory",
    controls=["checkov:CKV2_AWS_53", "catalog:G10"],
    remediation="Create aws.apigateway.RequestValidator(validate_request_body=True, "
                "validate_request_parameters=True) and set request_validator_id on the method.",
    types=[REST_METHOD],
)
def apigateway_request_validation(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if _text(resource.get("httpMethod")).upper() == "OPTIONS":
        return
    if not _is_set(resource.get("requestValidatorId")):
        yield "requestValidatorId is not set; allowed: the id of an aws.apigateway.RequestValidator"


def _is_tls12_or_newer(policy: str) -> bool:
    # REST names both the classic TLS_1_x and the enhanced SecurityPolicy_TLS12_*/TLS13_* policies.
    return policy == "TLS_1_2" or policy.startswith(("SecurityPolicy_TLS12", "SecurityPolicy_TLS13"))


@resource_rule(
    name="apigateway-domain-tls12",
    description="Ensure API Gateway custom domains negotiate TLS 1.2 or newer.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_206", "trivy:AVD-AWS-0005",
              "pulumi-crp:aws-apigateway-domainname-configure-security-policy", "catalog:G11"],
    remediation="REST: set security_policy='TLS_1_2' on aws.apigateway.DomainName (it defaults to TLS_1_0). "
                "HTTP API: set domain_name_configuration.security_policy='TLS_1_2'.",
    types=[REST_DOMAIN, V2_DOMAIN],
)
def apigateway_domain_tls(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if resource.type == REST_DOMAIN:
        path, policy = "securityPolicy", resource.get("securityPolicy")
    else:
        configuration = resource.get("domainNameConfiguration")
        path = "domainNameConfiguration.securityPolicy"
        policy = configuration.get("securityPolicy") if isinstance(configuration, Mapping) else None
    if is_unknown(policy):
        yield unverifiable(path)
    elif not _is_tls12_or_newer(_text(policy)):
        shown = policy if policy is not None else "unset (TLS_1_0)"
        yield f"{path} = {shown!r}; allowed: TLS_1_2 or a SecurityPolicy_TLS12_*/TLS13_* policy"


@resource_rule(
    name="apigateway-endpoint-type",
    description="Ensure REST APIs use an approved endpoint type (by default REGIONAL or PRIVATE, not the "
                "edge-optimized CloudFront distribution that the account cannot configure).",
    severity="low",
    enforcement="advisory",
    controls=["awsguard:apigateway-endpoint-type", "catalog:G12"],
    remediation="Set endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(types='REGIONAL').",
    types=[REST_API],
    config={"allowedTypes": {"type": "array", "items": {"type": "string", "enum": ["EDGE", "REGIONAL", "PRIVATE"]},
                             "default": ["REGIONAL", "PRIVATE"], "description": "Endpoint types a REST API may use."}},
)
def apigateway_endpoint_type(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    endpoint = resource.get("endpointConfiguration")
    types = endpoint.get("types") if isinstance(endpoint, Mapping) else None
    if is_unknown(types):
        yield unverifiable("endpointConfiguration.types")
        return
    # Unlike awsguard, an unset configuration is judged as what AWS creates: EDGE.
    for value in as_list(types) or ["EDGE"]:
        if isinstance(value, str) and not is_unknown(value) and value not in config["allowedTypes"]:
            yield f"endpointConfiguration.types includes {value!r}; allowed: {', '.join(config['allowedTypes'])}"
