"""The serverless layer: the Lambda function in app/function, its least-privilege role and an HTTP API.

Pure functions first (names, ARNs, the role's policy document, the package), then the component.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws

from .config import FunctionSettings
from .context import DeployContext
from .iam import Document, document, service_trust_policy, to_json
from .tags import with_name

# Relative to the project directory, where Pulumi runs the program: no checkout's absolute path in the state.
HANDLER_DIR = Path("app") / "function"
# What Lambda runs: the handler module alone (standard library only, so no dependencies to vendor).
HANDLER_FILES = ("handler.py",)
HANDLER = "handler.handler"
MAX_FUNCTION_NAME = 64
_FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]+")
# Fields of the API's access log lines ($context variables of HTTP APIs).
ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "integrationError": "$context.integrationErrorMessage",
    "integrationLatency": "$context.integrationLatency",
}, sort_keys=True)
DIRECT_PAYLOAD = '{"queryStringParameters": {"name": "AWS"}}'


# --- Names and ARNs -------------------------------------------------------------------------------------


def function_physical_name(name_prefix: str, name: str) -> str:
    """``<project>-<stack>-<name>``, within Lambda's 64 characters.

    The name is fixed, not auto-named, because the log group ``/aws/lambda/<function>`` must exist before
    the function; it keeps the stack prefix that the stack key's policy allows log groups under.
    """
    if not _FUNCTION_NAME.fullmatch(name_prefix) or len(name_prefix) > MAX_FUNCTION_NAME - 10:
        raise ValueError(f"'{name_prefix}' cannot start a Lambda function name (letters, digits, - and _, "
                         f"at most {MAX_FUNCTION_NAME - 10} characters): choose a shorter stack name without dots")
    full = f"{name_prefix}-{name}"
    if _FUNCTION_NAME.fullmatch(full) and len(full) <= MAX_FUNCTION_NAME:
        return full
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    kept = re.sub(r"[^A-Za-z0-9_-]", "-", name)[: MAX_FUNCTION_NAME - len(name_prefix) - len(digest) - 2]
    return f"{name_prefix}-{kept}-{digest}" if kept else f"{name_prefix}-{digest}"


def function_log_group_name(function_name: str) -> str:
    return f"/aws/lambda/{function_name}"


def api_invoke_source_arn(execution_arn: str) -> str:
    """Any stage, any route of this one API: what the Lambda permission lets API Gateway invoke for."""
    return f"{execution_arn}/*/*"


def route_path(route: str) -> str:
    return route.partition(" ")[2]


def reserved_concurrency(settings: FunctionSettings) -> int | None:
    """The function's reservation, or None (the provider's -1) to leave it in the unreserved pool."""
    return settings.reserved_concurrency if settings.reserved_concurrency >= 0 else None


def invoke_command(function_name: str, region: str) -> str:
    return (f"aws lambda invoke --region {region} --function-name {function_name} "
            f"--cli-binary-format raw-in-base64-out --payload '{DIRECT_PAYLOAD}' out.json")


# --- The execution role ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleScope:
    """Everything the function's role may touch, as ARNs and IDs; empty or None where not configured."""

    partition: str
    region: str
    account_id: str
    log_group_arn: str
    key_arn: str
    in_vpc: bool = False
    subnet_ids: Sequence[str] = field(default_factory=tuple)
    security_group_id: str = ""
    secret_arn: str = ""
    s3_bucket: str = ""
    s3_prefix: str = ""
    dead_letter_queue_arn: str = ""


def function_role_policy(scope: RoleScope) -> Document:
    """The execution role's one inline policy: only what the function and the Lambda service on its
    behalf use. X-Ray and the ENI Describe calls have no resource-level permissions, hence their ``*``."""
    ec2 = f"arn:{scope.partition}:ec2:{scope.region}:{scope.account_id}"
    statements: list[Document] = [
        {
            "Sid": "WriteLogsToItsOwnLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [scope.log_group_arn, f"{scope.log_group_arn}:*"],
        },
        {
            "Sid": "WriteXRayTraces",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",
        },
        {
            "Sid": "DecryptItsEnvironmentWithTheStackKey",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": scope.key_arn,
        },
    ]
    if scope.in_vpc:
        statements += [
            {
                "Sid": "DescribeNetworkInterfaces",
                "Effect": "Allow",
                "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
                "Resource": "*",
            },
            {
                "Sid": "CreateInterfacesInItsSubnetsWithItsSecurityGroup",
                "Effect": "Allow",
                "Action": "ec2:CreateNetworkInterface",
                "Resource": [f"{ec2}:network-interface/*",
                             *(f"{ec2}:subnet/{subnet}" for subnet in scope.subnet_ids),
                             f"{ec2}:security-group/{scope.security_group_id}"],
            },
            {
                "Sid": "ManageItsNetworkInterfaces",
                "Effect": "Allow",
                "Action": ["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
                           "ec2:UnassignPrivateIpAddresses"],
                "Resource": f"{ec2}:network-interface/*",
            },
        ]
    if scope.secret_arn:
        statements.append({
            "Sid": "ReadItsOneSecret",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": scope.secret_arn,
        })
    if scope.s3_bucket:
        statements.append({
            "Sid": "ReadObjectsUnderItsPrefix",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:{scope.partition}:s3:::{scope.s3_bucket}/{scope.s3_prefix}*",
        })
    if scope.dead_letter_queue_arn:
        statements += [
            {
                "Sid": "SendFailedEventsToItsDeadLetterQueue",
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": scope.dead_letter_queue_arn,
            },
            {
                "Sid": "EncryptDeadLettersWithTheStackKey",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": scope.key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"sqs.{scope.region}.amazonaws.com"}},
            },
        ]
    return document(*statements)


# --- The package ----------------------------------------------------------------------------------------


def handler_archive(directory: Path = HANDLER_DIR) -> pulumi.AssetArchive:
    """The handler's files only, by name. The engine hashes an archive from its names and contents, so an
    unchanged handler gives the same hash and no update, wherever and whenever the program runs."""
    return pulumi.AssetArchive({name: pulumi.FileAsset(str(directory / name)) for name in HANDLER_FILES})


# --- The component --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionArgs:
    settings: FunctionSettings
    context: DeployContext
    key_arn: pulumi.Input[str]
    """The stack's KMS key: environment variables, log groups and the dead-letter queue."""
    vpc_id: pulumi.Input[str] | None = None
    """The network's VPC; used only when ``settings.in_vpc``."""
    private_subnet_ids: Sequence[pulumi.Input[str]] = ()
    """The network's private subnets; used only when ``settings.in_vpc``."""


class Function(pulumi.ComponentResource):
    """A Lambda function with its log group, role, optional VPC placement and dead-letter queue, behind an
    HTTP API route."""

    function_name: str
    function_arn: pulumi.Output[str]
    api_id: pulumi.Output[str]
    invoke_url: pulumi.Output[str]
    invoke_command: str

    def __init__(self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aws-compute:function:Function", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        settings, ctx = args.settings, args.context
        self.function_name = function_physical_name(ctx.name_prefix, name)

        # --- Logs: created before the function, so Lambda never creates one without retention --------
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=function_log_group_name(self.function_name),
            retention_in_days=settings.log_retention_days,
            kms_key_id=args.key_arn,
            tags=self._tags("logs"),
            opts=self._child,
        )

        # --- Network placement, dead-letter queue --------------------------------------------------------
        security_group = self._security_group() if settings.in_vpc else None
        queue = self._dead_letter_queue() if settings.dead_letter else None

        # --- Role ----------------------------------------------------------------------------------------
        role = aws.iam.Role(
            f"{name}-role",
            path=ctx.iam_path,
            description=f"Execution role of the Lambda function {self.function_name}",
            assume_role_policy=to_json(service_trust_policy("lambda.amazonaws.com", ctx.account_id)),
            tags=self._tags("function"),
            opts=self._child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-permissions",
            role=role.id,
            policy=self._role_policy(log_group, security_group, queue),
            opts=self._child,
        )

        # --- Function ------------------------------------------------------------------------------------
        function = aws.lambda_.Function(
            f"{name}-function",
            name=self.function_name,
            description=f"{ctx.project} {ctx.stack}: answers {settings.route} on the HTTP API",
            role=role.arn,
            runtime=settings.runtime,
            handler=HANDLER,
            code=handler_archive(),
            architectures=[settings.architecture],
            memory_size=settings.memory,
            timeout=settings.timeout,
            reserved_concurrent_executions=reserved_concurrency(settings),
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            kms_key_arn=args.key_arn,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=self._environment()),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=log_group.name),
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=list(args.private_subnet_ids), security_group_ids=[security_group.id],
            ) if security_group else None,
            # Lambda's ENIs outlive the function for minutes; swapping in the VPC's default group on
            # destroy lets this security group be deleted without waiting for them.
            replace_security_groups_on_destroy=True if security_group else None,
            dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(target_arn=queue.arn) if queue else None,
            tags=self._tags("function"),
            # The role needs its permissions at creation: Lambda checks the ENI actions of a VPC function.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, policy]),
        )

        # --- HTTP API ------------------------------------------------------------------------------------
        api = aws.apigatewayv2.Api(
            f"{name}-api",
            protocol_type="HTTP",
            description=f"{ctx.project} {ctx.stack}: {settings.route} -> Lambda {self.function_name}",
            tags=self._tags("api"),
            opts=self._child,
        )
        integration = aws.apigatewayv2.Integration(
            f"{name}-integration",
            api_id=api.id,
            integration_type="AWS_PROXY",
            integration_method="POST",
            integration_uri=function.arn,
            payload_format_version="2.0",
            opts=self._child,
        )
        aws.apigatewayv2.Route(
            f"{name}-route",
            api_id=api.id,
            route_key=settings.route,
            authorization_type=settings.authorization,
            target=integration.id.apply(lambda integration_id: f"integrations/{integration_id}"),
            opts=self._child,
        )
        access_logs = aws.cloudwatch.LogGroup(
            f"{name}-api-access-logs",
            name=ctx.log_group_name(f"api-access/{name}"),
            retention_in_days=settings.log_retention_days,
            kms_key_id=args.key_arn,
            tags=self._tags("api-access-logs"),
            opts=self._child,
        )
        aws.apigatewayv2.Stage(
            f"{name}-stage",
            api_id=api.id,
            name="$default",
            auto_deploy=True,
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=access_logs.arn, format=ACCESS_LOG_FORMAT,
            ),
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_burst_limit=settings.throttling_burst_limit,
                throttling_rate_limit=settings.throttling_rate_limit,
                detailed_metrics_enabled=True,
            ),
            tags=self._tags("api"),
            opts=self._child,
        )
        aws.lambda_.Permission(
            f"{name}-invoked-by-api",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="apigateway.amazonaws.com",
            source_arn=api.execution_arn.apply(api_invoke_source_arn),
            opts=self._child,
        )

        self.function_arn = function.arn
        self.api_id = api.id
        # The API's default endpoint serves the $default stage without a stage segment.
        self.invoke_url = api.api_endpoint.apply(lambda endpoint: endpoint + route_path(settings.route))
        self.invoke_command = invoke_command(self.function_name, ctx.region)
        self.register_outputs({
            "functionName": self.function_name,
            "functionArn": self.function_arn,
            "invokeUrl": self.invoke_url,
            "invokeCommand": self.invoke_command,
        })

    def _tags(self, role: str) -> dict[str, str]:
        return with_name(self._args.context.tags, f"{self._args.context.name_prefix}-{self._name}-{role}")

    def _environment(self) -> dict[str, str]:
        """Settings only, never secrets: the secret is read by ARN at run time."""
        variables = {"ENVIRONMENT": self._args.context.environment}
        if self._args.settings.secret_arn:
            variables["GREETING_SECRET_ARN"] = self._args.settings.secret_arn
        return variables

    def _security_group(self) -> aws.ec2.SecurityGroup:
        if self._args.vpc_id is None or not self._args.private_subnet_ids:
            raise ValueError("function.inVpc needs the network's VPC and private subnets")
        return aws.ec2.SecurityGroup(
            f"{self._name}-sg",
            vpc_id=self._args.vpc_id,
            description=f"Lambda {self.function_name}: HTTPS out to AWS APIs, nothing in",
            egress=[aws.ec2.SecurityGroupEgressArgs(
                description="HTTPS to AWS service endpoints", protocol="tcp", from_port=443, to_port=443,
                cidr_blocks=["0.0.0.0/0"],
            )],
            tags=self._tags("function"),
            opts=self._child,
        )

    def _dead_letter_queue(self) -> aws.sqs.Queue:
        return aws.sqs.Queue(
            f"{self._name}-dead-letters",
            kms_master_key_id=self._args.key_arn,
            kms_data_key_reuse_period_seconds=300,
            message_retention_seconds=14 * 24 * 3600,  # the maximum: time to look at what failed
            tags=self._tags("dead-letters"),
            opts=self._child,
        )

    def _role_policy(self, log_group: aws.cloudwatch.LogGroup, security_group: aws.ec2.SecurityGroup | None,
                     queue: aws.sqs.Queue | None) -> pulumi.Output[str]:
        settings, ctx = self._args.settings, self._args.context
        return pulumi.Output.all(
            log_group_arn=log_group.arn,
            key_arn=self._args.key_arn,
            subnet_ids=list(self._args.private_subnet_ids) if security_group else [],
            security_group_id=security_group.id if security_group else "",
            queue_arn=queue.arn if queue else "",
        ).apply(lambda resolved: to_json(function_role_policy(RoleScope(
            partition=ctx.partition,
            region=ctx.region,
            account_id=ctx.account_id,
            log_group_arn=resolved["log_group_arn"],
            key_arn=resolved["key_arn"],
            in_vpc=settings.in_vpc,
            subnet_ids=tuple(resolved["subnet_ids"]),
            security_group_id=resolved["security_group_id"],
            secret_arn=settings.secret_arn,
            s3_bucket=settings.s3_bucket,
            s3_prefix=settings.s3_prefix,
            dead_letter_queue_arn=resolved["queue_arn"],
        ))))
