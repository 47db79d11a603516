"""Lambda and API Gateway policies: each one refuses what it exists to refuse and accepts the fix."""

from __future__ import annotations

import json
from typing import Any

from policies.rules import Resource, Stack, rule_named
from policies.rules.serverless import (
    EVENT_INVOKE_CONFIG,
    FUNCTION,
    FUNCTION_URL,
    METHOD_SETTINGS,
    PERMISSION,
    REST_API,
    REST_DOMAIN,
    REST_METHOD,
    REST_STAGE,
    SUBNET,
    SUPPORTED_RUNTIMES,
    V2_API,
    V2_DOMAIN,
    V2_ROUTE,
    V2_STAGE,
    WAF_ASSOCIATION,
    WEB_ACL,
    is_secret_name,
)

from .pack_client import as_recorded

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
UNKNOWN_LIST = "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def check(policy: str, type_: str, props: dict[str, Any], config: dict[str, Any] | None = None) -> list[str]:
    return rule_named(policy).evaluate(Resource(type_, props), config)


def check_stack(policy: str, *resources: Resource, config: dict[str, Any] | None = None) -> list[str]:
    return [message for _, message in rule_named(policy).evaluate_stack(Stack(resources), config)]


def good_function(**overrides: Any) -> dict[str, Any]:
    """A function that every Lambda policy accepts."""
    return {
        "runtime": "python3.13", "handler": "app.handler", "description": "Answers the HTTP API",
        "tracingConfig": {"mode": "Active"}, "reservedConcurrentExecutions": 10,
        "vpcConfig": {"subnetIds": ["subnet-a", "subnet-b"], "securityGroupIds": ["sg-1"]},
        "environment": {"variables": {"LOG_LEVEL": "INFO"}}, "kmsKeyArn": KEY_ARN,
        "codeSigningConfigArn": "arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-1",
        "deadLetterConfig": {"targetArn": "arn:aws:sqs:us-east-1:123456789012:api-dlq"},
        **overrides,
    }


def subnet(subnet_id: str, zone: str) -> Resource:
    return Resource(SUBNET, {"id": subnet_id, "availabilityZone": zone}, urn=f"urn:subnet:{subnet_id}")


def fn(name: str = "api", **props: Any) -> Resource:
    return Resource(FUNCTION, good_function(name=name, arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
                                            **props), name=name, urn=f"urn:function:{name}")


# --- F3 runtime -------------------------------------------------------------------------------------

def test_a_deprecated_runtime_is_refused():
    assert check("lambda-supported-runtime", FUNCTION, good_function(runtime="python3.9")) == [
        f"runtime = 'python3.9'; allowed: {', '.join(SUPPORTED_RUNTIMES)}"]


def test_a_current_runtime_passes():
    assert check("lambda-supported-runtime", FUNCTION, good_function(runtime="nodejs22.x")) == []


def test_the_runtime_allow_list_is_configurable():
    assert check("lambda-supported-runtime", FUNCTION, good_function(runtime="python3.12"),
                 {"allowedRuntimes": ["python3.13"]})


def test_a_container_image_function_needs_no_runtime():
    assert check("lambda-supported-runtime", FUNCTION, {"packageType": "Image", "imageUri": "x"}) == []


def test_an_unknown_runtime_cannot_be_verified():
    assert "cannot be verified" in check("lambda-supported-runtime", FUNCTION, good_function(runtime=UNKNOWN))[0]


# --- F4 tracing ---------------------------------------------------------------------------------------

def test_a_function_without_tracing_is_refused():
    assert check("lambda-xray-tracing", FUNCTION, good_function(tracingConfig=None)) == [
        "tracingConfig.mode = None; allowed: Active"]


def test_pass_through_tracing_passes_only_when_configured():
    props = good_function(tracingConfig={"mode": "PassThrough"})
    assert check("lambda-xray-tracing", FUNCTION, props)
    assert check("lambda-xray-tracing", FUNCTION, props, {"allowPassThrough": True}) == []


def test_active_tracing_passes():
    assert check("lambda-xray-tracing", FUNCTION, good_function()) == []


# --- F5 / F6 VPC ------------------------------------------------------------------------------------------

def test_a_function_outside_the_vpc_is_refused():
    assert check("lambda-in-vpc", FUNCTION, good_function(vpcConfig=None)) == [
        "vpcConfig.subnetIds is empty or missing; allowed: at least one private subnet id"]


def test_a_function_in_vpc_subnets_passes_even_when_their_ids_are_unknown():
    assert check("lambda-in-vpc", FUNCTION, good_function()) == []
    assert check("lambda-in-vpc", FUNCTION, good_function(vpcConfig={"subnetIds": UNKNOWN_LIST})) == []


def test_a_vpc_function_in_one_zone_is_refused():
    messages = check_stack("lambda-vpc-multi-az", fn(), subnet("subnet-a", "us-east-1a"),
                           subnet("subnet-b", "us-east-1a"))
    assert messages == ["vpcConfig.subnetIds (2 subnet(s)) span 1 Availability Zone(s) ['us-east-1a']; "
                        "allowed: at least 2"]


def test_a_vpc_function_with_a_single_subnet_is_refused_even_if_that_subnet_is_elsewhere():
    function = fn(vpcConfig={"subnetIds": ["subnet-external"], "securityGroupIds": ["sg-1"]})
    assert "span 0 Availability Zone(s)" in check_stack("lambda-vpc-multi-az", function)[0]


def test_a_vpc_function_across_two_zones_passes():
    assert check_stack("lambda-vpc-multi-az", fn(), subnet("subnet-a", "us-east-1a"),
                       subnet("subnet-b", "us-east-1b")) == []


def test_zones_are_found_through_property_dependencies_when_subnet_ids_are_unknown():
    function = Resource(FUNCTION, good_function(vpcConfig={"subnetIds": [UNKNOWN, UNKNOWN]}),
                        urn="urn:function:api",
                        property_dependencies={"vpcConfig": ("urn:subnet:subnet-a", "urn:subnet:subnet-b")})
    assert check_stack("lambda-vpc-multi-az", function, subnet("subnet-a", "us-east-1a"),
                       subnet("subnet-b", "us-east-1b")) == []


def test_subnets_outside_the_stack_cannot_be_verified():
    function = fn(vpcConfig={"subnetIds": ["subnet-x", "subnet-y"]})
    assert "cannot be verified" in check_stack("lambda-vpc-multi-az", function)[0]


# --- F7 dead-letter queue ----------------------------------------------------------------------------

def test_an_asynchronously_invoked_function_without_a_dlq_is_refused():
    permission = Resource(PERMISSION, {"function": "api", "principal": "events.amazonaws.com"})
    assert check_stack("lambda-dead-letter-queue", fn(deadLetterConfig=None), permission) == [
        "deadLetterConfig.targetArn is not set and no FunctionEventInvokeConfig sends failures to a destination; "
        "allowed: either"]


def test_a_function_with_a_dlq_passes():
    assert check_stack("lambda-dead-letter-queue", fn()) == []


def test_an_on_failure_destination_counts_as_a_dlq():
    config = Resource(EVENT_INVOKE_CONFIG, {"functionName": "api", "destinationConfig": {
        "onFailure": {"destination": "arn:aws:sqs:us-east-1:123456789012:failed"}}})
    assert check_stack("lambda-dead-letter-queue", fn(deadLetterConfig=None), config) == []


def test_a_function_only_api_gateway_invokes_needs_no_dlq_unless_configured():
    permission = Resource(PERMISSION, {"function": "arn:aws:lambda:us-east-1:123456789012:function:api",
                                       "principal": "apigateway.amazonaws.com"})
    function = fn(deadLetterConfig=None)
    assert check_stack("lambda-dead-letter-queue", function, permission) == []
    assert check_stack("lambda-dead-letter-queue", function, permission, config={"exemptSynchronousOnly": False})


# --- F8 reserved concurrency ------------------------------------------------------------------------------

def test_unreserved_concurrency_is_refused():
    assert check("lambda-reserved-concurrency", FUNCTION, good_function(reservedConcurrentExecutions=-1)) == [
        "reservedConcurrentExecutions = -1; allowed: a number of 0 or more (-1 means unreserved)"]
    assert check("lambda-reserved-concurrency", FUNCTION, good_function(reservedConcurrentExecutions=None))


def test_reserved_concurrency_passes():
    assert check("lambda-reserved-concurrency", FUNCTION, good_function()) == []


# --- F9 / F10 environment ----------------------------------------------------------------------------------

def test_environment_without_a_customer_key_is_refused():
    assert check("lambda-environment-encrypted-with-cmk", FUNCTION, good_function(kmsKeyArn=None)) == [
        "environment.variables is set but kmsKeyArn is not; allowed: a customer-managed KMS key ARN"]


def test_environment_with_a_key_passes_even_while_the_key_arn_is_unknown():
    assert check("lambda-environment-encrypted-with-cmk", FUNCTION, good_function(kmsKeyArn=UNKNOWN)) == []


def test_an_unknown_environment_without_a_key_cannot_be_verified():
    messages = check("lambda-environment-encrypted-with-cmk", FUNCTION,
                     good_function(environment={"variables": UNKNOWN}, kmsKeyArn=None))
    assert len(messages) == 1 and "cannot be verified" in messages[0]


def test_a_function_without_environment_needs_no_key():
    assert check("lambda-environment-encrypted-with-cmk", FUNCTION, good_function(environment=None,
                                                                                 kmsKeyArn=None)) == []


def env(**variables: Any) -> dict[str, Any]:
    return good_function(environment={"variables": variables})


def test_a_literal_password_in_the_environment_is_refused_without_repeating_it():
    messages = check("lambda-no-secrets-in-environment", FUNCTION, env(DB_PASSWORD="hunter2-correct-horse"))
    assert messages == ["environment.variables.DB_PASSWORD holds a literal value under a secret-like name; allowed: "
                        "empty, or a reference (a Secrets Manager/SSM ARN, a parameter path or {{resolve:...}}) "
                        "read at run time"]
    assert "hunter2" not in messages[0]


def test_an_access_key_id_is_refused_whatever_the_name():
    messages = check("lambda-no-secrets-in-environment", FUNCTION, env(SETTING="AKIAIOSFODNN7EXAMPLE"))
    assert messages == ["environment.variables.SETTING holds an AWS access key id; allowed: no credentials in plain "
                        "environment variables"]


def test_a_private_key_block_is_refused():
    value = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow...\n-----END RSA PRIVATE KEY-----"
    assert check("lambda-no-secrets-in-environment", FUNCTION, env(SIGNING_MATERIAL=value))


def test_a_connection_url_with_a_password_is_refused():
    messages = check("lambda-no-secrets-in-environment", FUNCTION,
                     env(DATABASE_URL="postgres://app:s3cret@db.internal:5432/app"))
    assert messages == ["environment.variables.DATABASE_URL holds a URL with an embedded password; allowed: no "
                        "credentials in plain environment variables"]


def test_a_connection_url_without_credentials_passes():
    assert check("lambda-no-secrets-in-environment", FUNCTION,
                 env(DATABASE_URL="postgres://db.internal:5432/app")) == []


def test_secret_names_in_camel_case_are_recognised():
    assert check("lambda-no-secrets-in-environment", FUNCTION, env(stripeApiKey="sk_live_abc123"))


def test_references_to_secrets_pass():
    assert check("lambda-no-secrets-in-environment", FUNCTION, env(
        DB_PASSWORD="arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
        API_TOKEN="{{resolve:ssm:/prod/api/token}}",
        GITHUB_TOKEN="/prod/github/token",
        DB_PASSWORD_SECRET_ARN="anything",
        TOKEN_CACHE_ENABLED="true",
        LOG_LEVEL="INFO")) == []


def test_an_unknown_value_under_a_secret_name_cannot_be_verified():
    messages = check("lambda-no-secrets-in-environment", FUNCTION, env(API_KEY=UNKNOWN))
    assert messages and "cannot be verified" in messages[0]


def test_secret_name_recognition():
    assert all(is_secret_name(n) for n in ("PASSWORD", "db_password", "AWS_ACCESS_KEY_ID", "clientSecret",
                                           "PRIVATE_KEY", "ECS_ENGINE_AUTH_DATA", "x-api-key", "ENCRYPTION_KEY"))
    assert not any(is_secret_name(n) for n in ("LOG_LEVEL", "SECRET_ARN", "TOKEN_URL", "PASSWORD_PARAMETER",
                                               "TABLE_NAME", "MONKEY", "KMS_KEY_ID"))


# --- F11-F14 ------------------------------------------------------------------------------------------

def test_an_unsigned_function_is_refused():
    assert check("lambda-code-signing", FUNCTION, good_function(codeSigningConfigArn=None)) == [
        "codeSigningConfigArn is not set; allowed: the ARN of a code signing config"]


def test_a_signed_function_passes():
    assert check("lambda-code-signing", FUNCTION, good_function()) == []


def test_a_function_url_without_auth_is_refused():
    assert check("lambda-function-url-requires-auth", FUNCTION_URL, {"authorizationType": "NONE"}) == [
        "authorizationType = 'NONE'; allowed: AWS_IAM"]


def test_a_function_url_with_iam_auth_passes():
    assert check("lambda-function-url-requires-auth", FUNCTION_URL, {"authorizationType": "AWS_IAM"}) == []


def test_a_function_url_open_to_every_origin_is_refused():
    props = {"cors": {"allowOrigins": ["https://app.example.com", "*"], "allowMethods": ["*"]}}
    assert check("lambda-function-url-cors-restricted", FUNCTION_URL, props) == [
        "cors.allowOrigins[1] = '*'; allowed: named origins and methods",
        "cors.allowMethods[0] = '*'; allowed: named origins and methods"]


def test_a_function_url_with_named_origins_passes():
    props = {"cors": {"allowOrigins": ["https://app.example.com"], "allowMethods": ["GET"]}}
    assert check("lambda-function-url-cors-restricted", FUNCTION_URL, props) == []


def test_a_function_without_a_description_is_refused():
    assert check("lambda-function-has-description", FUNCTION, good_function(description="  "))


def test_a_described_function_passes():
    assert check("lambda-function-has-description", FUNCTION, good_function()) == []


# --- G1 access logs --------------------------------------------------------------------------------------

LOGS = {"destinationArn": "arn:aws:logs:us-east-1:123456789012:log-group:api", "format": "{\"requestId\":\"x\"}"}


def test_an_http_api_stage_without_access_logs_is_refused():
    assert check("apigateway-stage-access-logging", V2_STAGE, {"apiId": "a1", "name": "$default"}) == [
        "accessLogSettings.destinationArn is not set; allowed: a log group ARN and a log format",
        "accessLogSettings.format is not set; allowed: a log group ARN and a log format"]


def test_rest_and_http_stages_with_access_logs_pass():
    assert check("apigateway-stage-access-logging", V2_STAGE, {"accessLogSettings": LOGS}) == []
    assert check("apigateway-stage-access-logging", REST_STAGE, {"accessLogSettings": LOGS}) == []


def test_a_rest_stage_without_access_logs_is_refused():
    assert check("apigateway-stage-access-logging", REST_STAGE, {"stageName": "prod"})


# --- G2 execution logging ----------------------------------------------------------------------------------

def rest_stage() -> Resource:
    return Resource(REST_STAGE, {"restApi": "api1", "stageName": "prod", "arn": "arn:stage:prod"},
                    urn="urn:stage:prod")


def method_settings(**settings: Any) -> Resource:
    return Resource(METHOD_SETTINGS, {"restApi": "api1", "stageName": "prod", "methodPath": "*/*",
                                      "settings": settings})


def test_a_rest_stage_without_method_settings_is_refused():
    assert "no aws:apigateway/methodSettings:MethodSettings" in check_stack("apigateway-execution-logging",
                                                                             rest_stage())[0]


def test_logging_off_or_metrics_off_is_refused():
    assert check_stack("apigateway-execution-logging", rest_stage(),
                       method_settings(loggingLevel="OFF", metricsEnabled=False)) == [
        "settings.loggingLevel = 'OFF'; allowed: ERROR, INFO", "settings.metricsEnabled = False; allowed: true"]


def test_error_logging_with_metrics_passes():
    assert check_stack("apigateway-execution-logging", rest_stage(),
                       method_settings(loggingLevel="ERROR", metricsEnabled=True)) == []


def test_a_websocket_stage_without_logging_is_refused_and_an_http_stage_is_not_judged():
    websocket = Resource(V2_API, {"id": "ws1", "protocolType": "WEBSOCKET"}, urn="urn:api:ws1")
    http = Resource(V2_API, {"id": "http1", "protocolType": "HTTP"}, urn="urn:api:http1")
    assert check_stack("apigateway-execution-logging", websocket, http,
                       Resource(V2_STAGE, {"apiId": "ws1"}), Resource(V2_STAGE, {"apiId": "http1"})) == [
        "defaultRouteSettings.loggingLevel = None; allowed: ERROR, INFO"]
    assert check_stack("apigateway-execution-logging", websocket,
                       Resource(V2_STAGE, {"apiId": "ws1", "defaultRouteSettings": {"loggingLevel": "INFO"}})) == []


# --- G3-G8 REST stages and method settings -------------------------------------------------------------------

def test_a_rest_stage_without_xray_is_refused_and_with_it_passes():
    assert check("apigateway-rest-stage-xray", REST_STAGE, {}) == ["xrayTracingEnabled = not set; allowed: true"]
    assert check("apigateway-rest-stage-xray", REST_STAGE, {"xrayTracingEnabled": True}) == []


def test_a_rest_stage_without_a_cache_is_refused_and_with_one_passes():
    assert check("apigateway-rest-caching-enabled", REST_STAGE, {"cacheClusterEnabled": False})
    assert check("apigateway-rest-caching-enabled", REST_STAGE, {"cacheClusterEnabled": True}) == []


def test_an_unencrypted_method_cache_is_refused():
    assert check("apigateway-cache-encrypted", METHOD_SETTINGS, {"settings": {"cachingEnabled": True}}) == [
        "settings.cacheDataEncrypted = None while settings.cachingEnabled = true; allowed: true"]


def test_an_encrypted_cache_or_no_cache_passes():
    assert check("apigateway-cache-encrypted", METHOD_SETTINGS,
                 {"settings": {"cachingEnabled": True, "cacheDataEncrypted": True}}) == []
    assert check("apigateway-cache-encrypted", METHOD_SETTINGS, {"settings": {"cachingEnabled": False}}) == []


def test_data_trace_is_refused_on_rest_settings_and_v2_routes():
    assert check("apigateway-data-trace-off", METHOD_SETTINGS, {"settings": {"dataTraceEnabled": True}})
    assert check("apigateway-data-trace-off", V2_STAGE, {"routeSettings": [
        {"routeKey": "$connect"}, {"routeKey": "$default", "dataTraceEnabled": True}]}) == [
        "routeSettings[1].dataTraceEnabled = true; allowed: false (bodies may carry credentials and personal data)"]


def test_data_trace_off_passes():
    assert check("apigateway-data-trace-off", METHOD_SETTINGS, {"settings": {"dataTraceEnabled": False}}) == []
    assert check("apigateway-data-trace-off", V2_STAGE, {"defaultRouteSettings": {"throttlingRateLimit": 5}}) == []


def test_a_rest_stage_without_a_client_certificate_is_refused_and_with_one_passes():
    assert check("apigateway-rest-client-certificate", REST_STAGE, {})
    assert check("apigateway-rest-client-certificate", REST_STAGE, {"clientCertificateId": "cert1"}) == []


def test_a_rest_stage_without_waf_is_refused():
    assert check_stack("apigateway-waf-associated", rest_stage())


def web_acl(*groups: str, **props: Any) -> Resource:
    rules = [{"name": g, "statement": {"managedRuleGroupStatement": {"name": g, "vendorName": "AWS"}}}
             for g in groups]
    return Resource(WEB_ACL, {"arn": "arn:acl", "rules": rules, **props}, name="api-acl", urn="urn:acl")


def test_a_web_acl_without_the_known_bad_inputs_group_is_refused():
    association = Resource(WAF_ASSOCIATION, {"resourceArn": "arn:stage:prod", "webAclArn": "arn:acl"})
    assert check_stack("apigateway-waf-associated", rest_stage(), association,
                       web_acl("AWSManagedRulesCommonRuleSet")) == [
        "web ACL api-acl lacks managed rule group(s) ['AWSManagedRulesKnownBadInputsRuleSet']; allowed: a web ACL "
        "including ['AWSManagedRulesKnownBadInputsRuleSet']"]


def test_a_web_acl_with_the_known_bad_inputs_group_passes_in_rules_or_rule_json():
    association = Resource(WAF_ASSOCIATION, {"resourceArn": "arn:stage:prod", "webAclArn": "arn:acl"})
    assert check_stack("apigateway-waf-associated", rest_stage(), association,
                       web_acl("AWSManagedRulesKnownBadInputsRuleSet")) == []
    rule_json = json.dumps([{"Name": "bad-inputs", "Statement": {"ManagedRuleGroupStatement": {
        "Name": "AWSManagedRulesKnownBadInputsRuleSet", "VendorName": "AWS"}}}])
    assert check_stack("apigateway-waf-associated", rest_stage(), association, web_acl(ruleJson=rule_json)) == []


def test_a_rest_stage_with_a_web_acl_passes_by_arn_or_by_dependency():
    by_arn = Resource(WAF_ASSOCIATION, {"resourceArn": "arn:stage:prod", "webAclArn": "arn:acl"})
    by_dependency = Resource(WAF_ASSOCIATION, {"resourceArn": UNKNOWN},
                             property_dependencies={"resourceArn": ("urn:stage:prod",)})
    assert check_stack("apigateway-waf-associated", rest_stage(), by_arn) == []
    assert check_stack("apigateway-waf-associated", rest_stage(), by_dependency) == []


def test_an_unthrottled_http_stage_is_refused_and_a_throttled_one_passes():
    assert check("apigateway-stage-throttling", V2_STAGE, {}) == [
        "defaultRouteSettings.throttlingBurstLimit = None; allowed: a positive number",
        "defaultRouteSettings.throttlingRateLimit = None; allowed: a positive number"]
    assert check("apigateway-stage-throttling", V2_STAGE, {"defaultRouteSettings": {
        "throttlingBurstLimit": 100, "throttlingRateLimit": 50.0}}) == []


# --- G9-G12 routes, domains, endpoints ------------------------------------------------------------------------

def test_an_http_route_without_authorization_is_refused():
    assert check("apigateway-route-authorization", V2_ROUTE, {"routeKey": "ANY /{proxy+}"}) == [
        "route 'ANY /{proxy+}': authorizationType = None; allowed: AWS_IAM, CUSTOM, JWT"]


def test_http_routes_with_an_authorizer_preflight_or_listed_public_keys_pass():
    assert check("apigateway-route-authorization", V2_ROUTE, {"routeKey": "GET /", "authorizationType": "JWT"}) == []
    assert check("apigateway-route-authorization", V2_ROUTE, {"routeKey": "OPTIONS /items"}) == []
    assert check("apigateway-route-authorization", V2_ROUTE, {"routeKey": "GET /health"},
                 {"publicRouteKeys": ["GET /health"]}) == []


def test_a_rest_method_without_authorization_is_refused_unless_an_api_key_is_required():
    assert check("apigateway-route-authorization", REST_METHOD, {"httpMethod": "GET", "authorization": "NONE"})
    assert check("apigateway-route-authorization", REST_METHOD,
                 {"httpMethod": "GET", "authorization": "NONE", "apiKeyRequired": True}) == []
    preflight = {"httpMethod": "OPTIONS", "authorization": "NONE"}
    assert check("apigateway-route-authorization", REST_METHOD, preflight) == []


def test_a_rest_method_without_a_validator_is_refused_and_with_one_passes():
    assert check("apigateway-request-validation", REST_METHOD, {"httpMethod": "POST"})
    assert check("apigateway-request-validation", REST_METHOD, {"httpMethod": "POST",
                                                                "requestValidatorId": "v1"}) == []


def test_a_rest_domain_left_at_tls_1_0_is_refused():
    assert check("apigateway-domain-tls12", REST_DOMAIN, {"domainName": "api.example.com"}) == [
        "securityPolicy = 'unset (TLS_1_0)'; allowed: TLS_1_2 or a SecurityPolicy_TLS12_*/TLS13_* policy"]
    assert check("apigateway-domain-tls12", REST_DOMAIN, {"securityPolicy": "TLS_1_0"})


def test_tls_1_2_and_enhanced_policies_pass_on_both_api_generations():
    assert check("apigateway-domain-tls12", REST_DOMAIN, {"securityPolicy": "TLS_1_2"}) == []
    assert check("apigateway-domain-tls12", REST_DOMAIN, {"securityPolicy": "SecurityPolicy_TLS13_1_3_2025_09"}) == []
    assert check("apigateway-domain-tls12", V2_DOMAIN, {"domainNameConfiguration": {"securityPolicy": "TLS_1_2"}}) == []


def test_an_edge_endpoint_is_refused_by_default_even_when_left_implicit():
    assert check("apigateway-endpoint-type", REST_API, {}) == [
        "endpointConfiguration.types includes 'EDGE'; allowed: REGIONAL, PRIVATE"]
    assert check("apigateway-endpoint-type", REST_API, {"endpointConfiguration": {"types": "EDGE"}})


def test_a_regional_endpoint_passes():
    assert check("apigateway-endpoint-type", REST_API, {"endpointConfiguration": {"types": ["REGIONAL"]}}) == []


# --- odd inputs --------------------------------------------------------------------------------------------

def test_no_serverless_policy_raises_on_odd_inputs():
    odd_values = [None, UNKNOWN, UNKNOWN_LIST, "", 7, True, [], {}, ["x"], [["x"]], {"k": UNKNOWN}, {"k": {}}]
    types = (FUNCTION, FUNCTION_URL, REST_STAGE, V2_STAGE, METHOD_SETTINGS, REST_METHOD, V2_ROUTE, REST_DOMAIN,
             V2_DOMAIN, REST_API)
    names = [r for r in ("lambda-supported-runtime", "lambda-xray-tracing", "lambda-in-vpc",
                         "lambda-reserved-concurrency", "lambda-environment-encrypted-with-cmk",
                         "lambda-no-secrets-in-environment", "lambda-code-signing",
                         "lambda-function-url-requires-auth", "lambda-function-url-cors-restricted",
                         "lambda-function-has-description", "apigateway-stage-access-logging",
                         "apigateway-rest-stage-xray", "apigateway-rest-caching-enabled", "apigateway-cache-encrypted",
                         "apigateway-data-trace-off", "apigateway-rest-client-certificate",
                         "apigateway-stage-throttling", "apigateway-route-authorization",
                         "apigateway-request-validation", "apigateway-domain-tls12", "apigateway-endpoint-type")]
    keys = ("runtime", "tracingConfig", "vpcConfig", "reservedConcurrentExecutions", "environment", "kmsKeyArn",
            "codeSigningConfigArn", "authorizationType", "cors", "description", "accessLogSettings", "settings",
            "defaultRouteSettings", "routeSettings", "routeKey", "httpMethod", "securityPolicy",
            "domainNameConfiguration", "endpointConfiguration", "xrayTracingEnabled")
    for value in odd_values:
        for type_ in types:
            for name in names:
                check(name, type_, dict.fromkeys(keys, value))
    stack_names = ("lambda-vpc-multi-az", "lambda-dead-letter-queue", "apigateway-execution-logging",
                   "apigateway-waf-associated")
    for value in odd_values:
        resources = [Resource(t, dict.fromkeys(("vpcConfig", "subnetIds", "function", "functionName", "restApi",
                                                "stageName", "methodPath", "settings", "apiId", "resourceArn",
                                                "deadLetterConfig", "destinationConfig", "principal", "id",
                                                "availabilityZone", "protocolType", "arn", "name", "webAclArn",
                                                "rules", "ruleJson"), value))
                     for t in (FUNCTION, SUBNET, PERMISSION, EVENT_INVOKE_CONFIG, REST_STAGE, METHOD_SETTINGS,
                               V2_STAGE, V2_API, WAF_ASSOCIATION, WEB_ACL)]
        for name in stack_names:
            check_stack(name, *resources)


# --- through the real pack ------------------------------------------------------------------------------------

def test_the_pack_reports_serverless_findings_over_grpc(pack):
    bad = as_recorded(FUNCTION, {"runtime": "python3.9", "role": "arn:aws:iam::123456789012:role/r",
                                 "handler": "app.handler",
                                 "environment": {"variables": {"DB_PASSWORD": "hunter2-correct-horse"}}},
                      name="legacy")
    good = as_recorded(FUNCTION, {**good_function(), "role": "arn:aws:iam::123456789012:role/r"}, name="current")
    subnets = [as_recorded(SUBNET, {"availabilityZone": zone}, name=subnet_id, outputs={
        "id": subnet_id, "availabilityZone": zone}) for subnet_id, zone in (("subnet-a", "us-east-1a"),
                                                                           ("subnet-b", "us-east-1b"))]
    route = as_recorded(V2_ROUTE, {"apiId": "a1", "routeKey": "ANY /"}, name="open-route")
    findings = pack.analyze([bad, good, route, *subnets])
    ours = {(f.policy, f.urn.rsplit("::", 1)[-1]) for f in findings
            if f.policy.startswith(("lambda-", "apigateway-"))}
    assert {("lambda-supported-runtime", "legacy"), ("lambda-no-secrets-in-environment", "legacy"),
            ("lambda-environment-encrypted-with-cmk", "legacy"), ("apigateway-route-authorization", "open-route"),
            } <= ours
    assert not [policy for policy, name in ours if name == "current"]
