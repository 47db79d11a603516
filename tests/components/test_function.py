"""The Function component: its role's documents as pure functions, then the dev and prod stacks under mocks."""

from __future__ import annotations

import json

import pytest

from components.config.function import SUPPORTED_RUNTIMES as CONFIG_RUNTIMES
from components.function import (
    HANDLER_DIR,
    MAX_FUNCTION_NAME,
    RoleScope,
    api_invoke_source_arn,
    function_physical_name,
    function_role_policy,
)
from policies.rules.serverless import SUPPORTED_RUNTIMES as POLICY_RUNTIMES
from preflight.recorder import ProgramError

FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
API = "aws:apigatewayv2/api:Api"
STAGE = "aws:apigatewayv2/stage:Stage"
ROUTE = "aws:apigatewayv2/route:Route"
INTEGRATION = "aws:apigatewayv2/integration:Integration"
PERMISSION = "aws:lambda/permission:Permission"
QUEUE = "aws:sqs/queue:Queue"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:aws-compute/dev/greeting-AbC123"

LOG_GROUP_ARN = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/aws-compute-dev-function"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SCOPE = RoleScope(partition="aws", region="us-east-1", account_id="123456789012", log_group_arn=LOG_GROUP_ARN,
                  key_arn=KEY_ARN)


def statements_by_sid(doc: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in doc["Statement"]}


def stack_key(recording):
    (key,) = [r for r in recording.of_type("aws:kms/key:Key") if r.name == "stack-key"]
    return key


def only(recording, type_token: str, name_prefix: str = "function"):
    (resource,) = [r for r in recording.of_type(type_token) if r.name.startswith(name_prefix)]
    return resource


# --- The role's policy, without Pulumi -----------------------------------------------------------------


def test_the_minimal_role_may_write_its_logs_and_traces_and_decrypt_its_environment_only():
    assert function_role_policy(SCOPE) == {"Version": "2012-10-17", "Statement": [
        {"Sid": "WriteLogsToItsOwnLogGroup", "Effect": "Allow",
         "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": [LOG_GROUP_ARN, f"{LOG_GROUP_ARN}:*"]},
        {"Sid": "WriteXRayTraces", "Effect": "Allow",
         "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"},
        {"Sid": "DecryptItsEnvironmentWithTheStackKey", "Effect": "Allow", "Action": "kms:Decrypt",
         "Resource": KEY_ARN},
    ]}


def test_vpc_placement_adds_network_interface_actions_scoped_to_its_subnets_and_group():
    scope = RoleScope(**{**SCOPE.__dict__, "in_vpc": True, "subnet_ids": ("subnet-a", "subnet-b"),
                         "security_group_id": "sg-1"})
    statements = statements_by_sid(function_role_policy(scope))
    ec2 = "arn:aws:ec2:us-east-1:123456789012"
    assert statements["DescribeNetworkInterfaces"]["Action"] == ["ec2:DescribeNetworkInterfaces",
                                                                 "ec2:DescribeSubnets"]
    assert statements["CreateInterfacesInItsSubnetsWithItsSecurityGroup"]["Resource"] == [
        f"{ec2}:network-interface/*", f"{ec2}:subnet/subnet-a", f"{ec2}:subnet/subnet-b",
        f"{ec2}:security-group/sg-1"]
    assert statements["ManageItsNetworkInterfaces"] == {
        "Sid": "ManageItsNetworkInterfaces", "Effect": "Allow",
        "Action": ["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
        "Resource": f"{ec2}:network-interface/*"}


def test_without_vpc_placement_the_role_has_no_ec2_action():
    actions = json.dumps(function_role_policy(SCOPE))
    assert "ec2:" not in actions


def test_a_configured_secret_may_be_read_and_no_other():
    statements = statements_by_sid(function_role_policy(RoleScope(**{**SCOPE.__dict__, "secret_arn": SECRET_ARN})))
    assert statements["ReadItsOneSecret"] == {"Sid": "ReadItsOneSecret", "Effect": "Allow",
                                              "Action": "secretsmanager:GetSecretValue", "Resource": SECRET_ARN}


def test_a_configured_bucket_may_be_read_under_its_prefix_only():
    scope = RoleScope(**{**SCOPE.__dict__, "s3_bucket": "my-data", "s3_prefix": "greetings/"})
    statement = statements_by_sid(function_role_policy(scope))["ReadObjectsUnderItsPrefix"]
    assert (statement["Action"], statement["Resource"]) == ("s3:GetObject", "arn:aws:s3:::my-data/greetings/*")


def test_a_dead_letter_queue_may_be_sent_to_through_sqs_with_the_stack_key():
    queue = "arn:aws:sqs:us-east-1:123456789012:function-dead-letters"
    statements = statements_by_sid(function_role_policy(RoleScope(**{**SCOPE.__dict__,
                                                                    "dead_letter_queue_arn": queue})))
    assert statements["SendFailedEventsToItsDeadLetterQueue"]["Resource"] == queue
    assert statements["SendFailedEventsToItsDeadLetterQueue"]["Action"] == "sqs:SendMessage"
    kms = statements["EncryptDeadLettersWithTheStackKey"]
    assert (kms["Action"], kms["Resource"]) == (["kms:GenerateDataKey", "kms:Decrypt"], KEY_ARN)
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}}


def test_unconfigured_extras_grant_nothing():
    assert {s["Sid"] for s in function_role_policy(SCOPE)["Statement"]} == {
        "WriteLogsToItsOwnLogGroup", "WriteXRayTraces", "DecryptItsEnvironmentWithTheStackKey"}


# --- Names ---------------------------------------------------------------------------------------------


def test_the_function_name_keeps_the_stack_prefix_the_key_policy_allows():
    assert function_physical_name("aws-compute-dev", "function") == "aws-compute-dev-function"


def test_a_long_function_name_is_shortened_within_64_characters_and_stays_unique():
    first = function_physical_name("aws-compute-staging", "x" * 80)
    second = function_physical_name("aws-compute-staging", "x" * 79)
    assert len(first) <= MAX_FUNCTION_NAME and len(second) <= MAX_FUNCTION_NAME
    assert first.startswith("aws-compute-staging-") and first != second


def test_a_stack_name_lambda_cannot_carry_is_refused():
    with pytest.raises(ValueError, match="choose a shorter stack name without dots"):
        function_physical_name("aws-compute-dev.eu", "function")


def test_the_permission_source_is_every_stage_and_route_of_one_api():
    arn = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5"
    assert api_invoke_source_arn(arn) == "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/*/*"


# --- The dev stack -------------------------------------------------------------------------------------


def test_the_dev_role_policy_grants_exactly_logs_traces_its_key_and_its_network_interfaces(dev_stack):
    policy = json.loads(only(dev_stack, ROLE_POLICY).inputs["policy"])
    log_group = only(dev_stack, LOG_GROUP, "function-logs")
    key = stack_key(dev_stack)
    sg = only(dev_stack, SECURITY_GROUP, "function-sg")
    subnets = only(dev_stack, FUNCTION).inputs["vpcConfig"]["subnetIds"]
    assert policy == function_role_policy(RoleScope(
        partition="aws", region="us-east-1", account_id="123456789012", log_group_arn=log_group.outputs["arn"],
        key_arn=key.outputs["arn"], in_vpc=True, subnet_ids=tuple(subnets), security_group_id=sg.id))
    assert {s["Sid"] for s in policy["Statement"]} == {
        "WriteLogsToItsOwnLogGroup", "WriteXRayTraces", "DecryptItsEnvironmentWithTheStackKey",
        "DescribeNetworkInterfaces", "CreateInterfacesInItsSubnetsWithItsSecurityGroup",
        "ManageItsNetworkInterfaces"}
    assert statements_by_sid(policy)["WriteLogsToItsOwnLogGroup"]["Resource"] == [
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/aws-compute-dev-function",
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/aws-compute-dev-function:*"]


def test_the_role_is_assumable_only_by_lambda_of_this_account_and_has_no_managed_policy(dev_stack):
    role = only(dev_stack, ROLE)
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert "managedPolicyArns" not in role.inputs
    attachments = [a for a in dev_stack.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                   if a.inputs.get("role") == role.id]
    assert attachments == []
    assert only(dev_stack, ROLE_POLICY).inputs["role"] == role.id


def test_the_log_group_is_named_for_the_function_and_created_before_it(dev_stack):
    function, log_group = only(dev_stack, FUNCTION), only(dev_stack, LOG_GROUP, "function-logs")
    assert log_group.inputs["name"] == f"/aws/lambda/{function.inputs['name']}"
    assert log_group.urn in function.dependencies
    assert function.inputs["loggingConfig"]["logGroup"] == log_group.inputs["name"]


def test_the_role_policy_exists_before_the_function(dev_stack):
    assert only(dev_stack, ROLE_POLICY).urn in only(dev_stack, FUNCTION).dependencies


def test_log_groups_keep_the_configured_days_and_are_encrypted_with_the_stack_key(dev_stack, prod_stack):
    for recording, days in ((dev_stack, 30), (prod_stack, 365)):
        key = stack_key(recording)
        for name in ("function-logs", "function-api-access-logs"):
            group = only(recording, LOG_GROUP, name)
            assert (group.inputs["retentionInDays"], group.inputs["kmsKeyId"]) == (days, key.outputs["arn"])


def test_the_dev_function_runs_the_handler_on_current_python_arm_with_tracing(dev_stack):
    inputs = only(dev_stack, FUNCTION).inputs
    key = stack_key(dev_stack)
    assert (inputs["runtime"], inputs["handler"], inputs["architectures"]) == ("python3.13", "handler.handler",
                                                                               ["arm64"])
    assert (inputs["memorySize"], inputs["timeout"]) == (128, 30)
    assert inputs["tracingConfig"] == {"mode": "Active"}
    assert inputs["kmsKeyArn"] == key.outputs["arn"]
    assert inputs["environment"] == {"variables": {"ENVIRONMENT": "dev"}}
    assert inputs["name"] == "aws-compute-dev-function"


def test_the_package_holds_only_the_handler_by_a_path_relative_to_the_project(dev_stack):
    assets = only(dev_stack, FUNCTION).inputs["code"]["assets"]
    assert list(assets) == ["handler.py"]
    assert assets["handler.py"]["path"] == str(HANDLER_DIR / "handler.py") == "app/function/handler.py"


def test_an_unchanged_handler_packages_identically_on_every_run(dev_stack, stack_with):
    again = stack_with("dev")
    assert only(again, FUNCTION).inputs["code"] == only(dev_stack, FUNCTION).inputs["code"]


def test_the_api_proxies_the_configured_route_to_the_function_in_payload_2(dev_stack):
    api, function = only(dev_stack, API), only(dev_stack, FUNCTION)
    integration, route = only(dev_stack, INTEGRATION), only(dev_stack, ROUTE)
    assert api.inputs["protocolType"] == "HTTP"
    assert (integration.inputs["integrationType"], integration.inputs["payloadFormatVersion"]) == ("AWS_PROXY", "2.0")
    assert integration.inputs["integrationUri"] == function.outputs["arn"]
    assert (route.inputs["routeKey"], route.inputs["target"]) == ("GET /hello", f"integrations/{integration.id}")


def test_dev_serves_the_greeting_publicly_so_a_browser_or_curl_can_call_it(dev_stack):
    assert only(dev_stack, ROUTE).inputs["authorizationType"] == "NONE"


def test_prod_requires_sigv4_on_the_route(prod_stack):
    assert only(prod_stack, ROUTE).inputs["authorizationType"] == "AWS_IAM"


def test_a_route_made_public_by_config_has_no_authorization(stack_with):
    recording = stack_with("dev", {"aws-compute:function.authorization": "NONE",
                                   "aws-compute:function.route": "GET /greet/{name}"})
    route = only(recording, ROUTE)
    assert (route.inputs["routeKey"], route.inputs["authorizationType"]) == ("GET /greet/{name}", "NONE")


def test_the_default_stage_deploys_automatically_logs_access_and_throttles_from_config(dev_stack):
    stage, access_logs = only(dev_stack, STAGE), only(dev_stack, LOG_GROUP, "function-api-access-logs")
    assert (stage.inputs["name"], stage.inputs["autoDeploy"]) == ("$default", True)
    assert stage.inputs["accessLogSettings"]["destinationArn"] == access_logs.outputs["arn"]
    assert json.loads(stage.inputs["accessLogSettings"]["format"])["requestId"] == "$context.requestId"
    settings = stage.inputs["defaultRouteSettings"]
    assert (settings["throttlingBurstLimit"], settings["throttlingRateLimit"]) == (20, 10)


def test_only_api_gateway_may_invoke_the_function_and_only_for_this_api(dev_stack):
    permission, api, function = only(dev_stack, PERMISSION), only(dev_stack, API), only(dev_stack, FUNCTION)
    assert (permission.inputs["principal"], permission.inputs["action"]) == ("apigateway.amazonaws.com",
                                                                             "lambda:InvokeFunction")
    assert permission.inputs["function"] == function.inputs["name"]
    assert permission.inputs["sourceArn"] == f"arn:aws:execute-api:us-east-1:123456789012:{api.id}/*/*"


def test_the_stack_exports_the_function_the_url_and_a_ready_invoke_command(dev_stack):
    api = only(dev_stack, API)
    outputs = dev_stack.outputs
    assert outputs["functionName"] == "aws-compute-dev-function"
    assert outputs["functionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:aws-compute-dev-function"
    assert outputs["apiUrl"] == f"https://{api.id}.execute-api.us-east-1.amazonaws.com/hello"
    assert outputs["invokeCommand"] == (
        "aws lambda invoke --region us-east-1 --function-name aws-compute-dev-function "
        "--cli-binary-format raw-in-base64-out --payload '{\"queryStringParameters\": {\"name\": \"AWS\"}}' out.json")


def test_a_disabled_function_creates_nothing(stack_with):
    recording = stack_with("dev", {"aws-compute:function.enabled": "false"})
    assert [r.urn for r in recording.resources if "aws-compute:function:Function" in r.urn] == []
    assert "functionName" not in recording.outputs


def test_outside_the_vpc_the_function_has_no_vpc_config_or_security_group(stack_with):
    recording = stack_with("dev", {"aws-compute:function.inVpc": "false"})
    assert "vpcConfig" not in only(recording, FUNCTION).inputs
    assert [r for r in recording.of_type(SECURITY_GROUP) if r.name.startswith("function")] == []


def test_a_configured_secret_reaches_the_function_by_arn_and_the_role_may_read_it(stack_with):
    recording = stack_with("dev", {"aws-compute:function.secretArn": SECRET_ARN})
    assert only(recording, FUNCTION).inputs["environment"]["variables"]["GREETING_SECRET_ARN"] == SECRET_ARN
    statements = statements_by_sid(json.loads(only(recording, ROLE_POLICY).inputs["policy"]))
    assert statements["ReadItsOneSecret"]["Resource"] == SECRET_ARN


def test_a_secret_in_another_region_stops_the_program_with_a_config_error(stack_with):
    other_region = SECRET_ARN.replace("us-east-1", "eu-west-1")
    with pytest.raises(ProgramError, match=r"aws-compute:function\.secretArn .* allowed: a secret in us-east-1"):
        stack_with("dev", {"aws-compute:function.secretArn": other_region})


# --- The prod stack ------------------------------------------------------------------------------------


def test_the_prod_function_sits_in_every_private_subnet_behind_its_own_egress_only_group(prod_stack):
    function, sg = only(prod_stack, FUNCTION), only(prod_stack, SECURITY_GROUP, "function-sg")
    private = {r.id for r in prod_stack.of_type("aws:ec2/subnet:Subnet") if r.inputs["tags"]["Tier"] == "private"}
    assert set(function.inputs["vpcConfig"]["subnetIds"]) == private and len(private) == 3
    assert function.inputs["vpcConfig"]["securityGroupIds"] == [sg.id]
    assert function.inputs["replaceSecurityGroupsOnDestroy"] is True
    assert "ingress" not in sg.inputs or sg.inputs["ingress"] == []
    assert [(e["protocol"], e["fromPort"], e["toPort"]) for e in sg.inputs["egress"]] == [("tcp", 443, 443)]


def test_prod_sends_failed_async_events_to_an_encrypted_queue_the_role_may_write_to(prod_stack):
    function, queue = only(prod_stack, FUNCTION), only(prod_stack, QUEUE, "function-dead-letters")
    key = stack_key(prod_stack)
    assert function.inputs["deadLetterConfig"]["targetArn"] == queue.outputs["arn"]
    assert queue.inputs["kmsMasterKeyId"] == key.outputs["arn"]
    statements = statements_by_sid(json.loads(only(prod_stack, ROLE_POLICY).inputs["policy"]))
    assert statements["SendFailedEventsToItsDeadLetterQueue"]["Resource"] == queue.outputs["arn"]


@pytest.mark.parametrize("stack", ["dev_stack", "prod_stack"])
def test_neither_stack_reserves_concurrency_which_a_new_accounts_quota_could_not_give(stack, request):
    assert "reservedConcurrentExecutions" not in only(request.getfixturevalue(stack), FUNCTION).inputs


def test_prod_gives_the_function_more_memory(prod_stack):
    assert only(prod_stack, FUNCTION).inputs["memorySize"] == 256


def test_a_configured_reservation_is_set_on_the_function(stack_with):
    recording = stack_with("dev", {"aws-compute:function.reservedConcurrency": "10"})
    assert only(recording, FUNCTION).inputs["reservedConcurrentExecutions"] == 10


def test_every_runtime_the_config_accepts_passes_the_packs_runtime_policy():
    assert set(CONFIG_RUNTIMES) <= set(POLICY_RUNTIMES)
