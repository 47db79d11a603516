"""CiAccess: the role GitHub Actions assumes, through GitHub's OIDC provider, to preview and deploy this stack.

No stored AWS keys: a workflow job asks GitHub for an OIDC token and exchanges it for this role's
credentials (``aws-actions/configure-aws-credentials`` with ``role-to-assume``). The trust accepts only
tokens for one repository's jobs that run in one GitHub environment, with STS as the audience
(GitHub, "Configuring OpenID Connect in Amazon Web Services"; AWS, "Create a role for OpenID Connect
federation").

The permissions are what a deploy of this stack calls, service by service, each limited to the
stack's region and account; IAM writes only on roles and instance profiles under the stack's
IAM path (``/aws-compute/<stack>/``), and S3 only on buckets with the stack's name prefix. They are
derived from the resource types the stack creates, not from a recorded deploy: after the first deploy,
IAM Access Analyzer's policy generation (from CloudTrail) shows what was used, to narrow further.
A deploy role can always launch an instance or update a function with one of the roles it passes, so
the pack's ``iam-no-privilege-escalation`` reports it; that finding is waived with its reason in the
policy config where CI is enabled (README, "CI role").
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .config.ci import CiSettings
from .context import DeployContext
from .iam import Document, document, to_json
from .tags import with_name

GITHUB_ISSUER = "token.actions.githubusercontent.com"
STS_AUDIENCE = "sts.amazonaws.com"
# Service-linked roles that AWS creates on first use of a service in an account; the caller needs
# iam:CreateServiceLinkedRole for them on a fresh account (AWS, "Using service-linked roles").
SERVICE_LINKED_ROLES = {
    "autoscaling.amazonaws.com": "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling*",
    "elasticloadbalancing.amazonaws.com": "elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing",
    "ecs.amazonaws.com": "ecs.amazonaws.com/AWSServiceRoleForECS",
    "ecs.application-autoscaling.amazonaws.com":
        "ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService",
    "spot.amazonaws.com": "spot.amazonaws.com/AWSServiceRoleForEC2Spot",
    # The patch window's task runs with Systems Manager's service-linked role (components/operations.py).
    "ssm.amazonaws.com": "ssm.amazonaws.com/AWSServiceRoleForAmazonSSM",
}
# The EC2 reads a deploy of this stack's types calls (the provider reads back each resource it creates, the
# account's AZs and attributes). Not ec2:Describe*: 17 EC2 Describe actions take a resource
# (DescribeInstanceAttribute on "*" reads every instance's user data); those the deploy needs are in
# SERVICE_ACTIONS["ec2"], limited to the stack's account and regions like its writes.
EC2_READS = (
    "DescribeAccountAttributes", "DescribeAvailabilityZones", "DescribeRegions", "DescribeVpcs", "DescribeSubnets",
    "DescribeSecurityGroups", "DescribeSecurityGroupRules", "DescribeNetworkAcls", "DescribeRouteTables",
    "DescribeInternetGateways", "DescribeEgressOnlyInternetGateways", "DescribeNatGateways", "DescribeAddresses",
    "DescribeAddressesAttribute", "DescribeNetworkInterfaces", "DescribeFlowLogs", "DescribeVpcEndpoints",
    "DescribeVpcEndpointServices", "DescribePrefixLists", "DescribeManagedPrefixLists", "DescribeInstances",
    "DescribeInstanceStatus", "DescribeInstanceTypes", "DescribeInstanceTypeOfferings",
    "DescribeInstanceCreditSpecifications", "DescribeLaunchTemplates", "DescribeLaunchTemplateVersions",
    "DescribeImages", "DescribeKeyPairs", "DescribeVolumes", "DescribeVolumesModifications", "DescribeSnapshots",
    "DescribeTags",
)
EC2_READS_OF_RESOURCES = ("DescribeInstanceAttribute", "DescribeVpcAttribute", "DescribeVolumeAttribute",
                          "DescribeSnapshotAttribute", "DescribeImageAttribute")
# Actions that accept only "*" as their resource (Service Authorization Reference: no resource type).
READ_EVERYWHERE = (
    "sts:GetCallerIdentity",
    *(f"ec2:{action}" for action in EC2_READS),
    "elasticloadbalancing:Describe*",
    "autoscaling:Describe*",
    "application-autoscaling:Describe*",
    "logs:DescribeLogGroups",
    "kms:ListAliases",
    "ecr:GetAuthorizationToken",
    "ecs:DescribeTaskDefinition",
)
# Per service: the verbs a create, update and delete of this stack's resources call. Each is limited
# to the resources of the stack's account and region in deploy_policy_documents().
WRITE_VERBS = ("Create*", "Delete*", "Update*", "Modify*", "Put*", "Tag*", "Untag*")
SERVICE_ACTIONS: dict[str, tuple[str, ...]] = {
    "ec2": (*WRITE_VERBS, "Associate*", "Disassociate*", "Attach*", "Detach*", "Authorize*", "Revoke*",
            "Allocate*", "Release*", "Replace*", "RunInstances", "StartInstances", "StopInstances",
            "TerminateInstances", "MonitorInstances", "UnmonitorInstances", "CopySnapshot", "ImportKeyPair",
            "Get*", *EC2_READS_OF_RESOURCES),
    "elasticloadbalancing": (*WRITE_VERBS, "Add*", "Remove*", "Set*", "Register*", "Deregister*"),
    "autoscaling": (*WRITE_VERBS, "Attach*", "Detach*", "Set*", "Suspend*", "Resume*", "StartInstanceRefresh",
                    "CancelInstanceRefresh"),
    "application-autoscaling": ("RegisterScalableTarget", "DeregisterScalableTarget", "PutScalingPolicy",
                                "DeleteScalingPolicy", "TagResource", "UntagResource", "ListTagsForResource"),
    # Not Create*: CreateEventSourceMapping would let the role run a function it creates from any queue.
    "lambda": ("CreateFunction", "DeleteFunction", "UpdateFunctionCode", "UpdateFunctionConfiguration",
               "PutFunctionConcurrency", "DeleteFunctionConcurrency", "Get*", "List*", "TagResource",
               "UntagResource", "AddPermission", "RemovePermission", "PublishVersion"),
    "ecs": (*WRITE_VERBS, "Describe*", "List*", "RegisterTaskDefinition"),
    "ecr": (*WRITE_VERBS, "Describe*", "List*", "Get*", "SetRepositoryPolicy", "BatchCheckLayerAvailability",
            "InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload"),
    "logs": (*WRITE_VERBS, "Describe*", "List*", "AssociateKmsKey", "DisassociateKmsKey"),
    "kms": ("Describe*", "Get*", "List*", "Put*", "Tag*", "Untag*", "Update*", "Create*", "Enable*",
            "Disable*", "ScheduleKeyDeletion", "Encrypt", "Decrypt", "GenerateDataKey*", "ReEncrypt*"),
    "sns": (*WRITE_VERBS, "Get*", "List*", "Set*", "Subscribe", "Unsubscribe"),
    "sqs": ("CreateQueue", "DeleteQueue", "Get*", "List*", "SetQueueAttributes", "TagQueue", "UntagQueue"),
    "wafv2": (*WRITE_VERBS, "Get*", "List*", "AssociateWebACL", "DisassociateWebACL"),
    "cloudwatch": (*WRITE_VERBS, "Describe*", "Get*", "List*", "Enable*", "Disable*"),
    "dlm": (*WRITE_VERBS, "Get*"),
    "acm": ("Describe*", "Get*", "List*", "DeleteCertificate", "AddTagsToCertificate", "RemoveTagsFromCertificate"),
    "ssm": ("GetParameter", "GetParameters", "PutParameter", "DeleteParameter", "AddTagsToResource",
            "RemoveTagsFromResource", "ListTagsForResource", "CreateMaintenanceWindow", "UpdateMaintenanceWindow",
            "DeleteMaintenanceWindow", "GetMaintenanceWindow", "RegisterTargetWithMaintenanceWindow",
            "UpdateMaintenanceWindowTarget", "DeregisterTargetFromMaintenanceWindow",
            "RegisterTaskWithMaintenanceWindow", "UpdateMaintenanceWindowTask", "GetMaintenanceWindowTask",
            "DeregisterTaskFromMaintenanceWindow", "DescribeMaintenanceWindowTargets",
            "DescribeMaintenanceWindowTasks"),
}
# The few services whose ARNs carry no account (API Gateway) or that name AMIs and their snapshots,
# which Amazon owns, without one.
ACCOUNTLESS_RESOURCES = {
    "ec2": ("image/*", "snapshot/*"),
    "ssm": ("parameter/aws/service/*",),  # the public parameters that name the latest AMIs
}
# Actions that accept only "*", as they create what has no ARN yet; limited by the tag the request carries.
CREATE_EVERYWHERE = ("kms:CreateKey", "acm:RequestCertificate")
APIGATEWAY_ACTIONS = ("GET", "POST", "PUT", "PATCH", "DELETE", "TagResource", "UntagResource")
IAM_ACTIONS = (
    "iam:GetRole", "iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription",
    "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:ListRolePolicies",
    "iam:ListAttachedRolePolicies", "iam:GetRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:ListInstanceProfilesForRole",
    "iam:GetInstanceProfile", "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile",
    "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:TagInstanceProfile",
    "iam:UntagInstanceProfile",
)
PASSED_TO = ("ec2.amazonaws.com", "lambda.amazonaws.com", "ecs-tasks.amazonaws.com", "dlm.amazonaws.com",
             "vpc-flow-logs.amazonaws.com")
MAX_MANAGED_POLICY_CHARS = 6144  # IAM quota: a managed policy's size, white space not counted


def github_trust_policy(provider_arn: str, repository: str, environment: str) -> Document:
    """Only jobs of ``repository`` that run in the GitHub environment ``environment`` may assume the role."""
    return document({
        "Sid": "GitHubActionsOfOneRepositoryEnvironment",
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            f"{GITHUB_ISSUER}:aud": STS_AUDIENCE,
            f"{GITHUB_ISSUER}:sub": f"repo:{repository}:environment:{environment}",
        }},
    })


def deploy_policy_documents(partition: str, account_id: str, regions: list[str], iam_path: str,
                            bucket_prefix: str, project: str) -> list[Document]:
    """What a deploy of the stack may call, as several managed policy documents (each under IAM's size quota):
    reads that accept only "*"; each service's writes in the stack's regions and account; IAM on the stack's
    path; S3 on the stack's buckets."""
    services = [{
        "Sid": _sid(service),
        "Effect": "Allow",
        "Action": [f"{service}:{verb}" for verb in verbs],
        "Resource": [f"arn:{partition}:{service}:{region}:{account_id}:*" for region in regions]
                    + [f"arn:{partition}:{service}:{region}::{rest}" for region in regions
                       for rest in ACCOUNTLESS_RESOURCES.get(service, ())],
    } for service, verbs in SERVICE_ACTIONS.items()]
    services.append({
        "Sid": "Apigateway",
        "Effect": "Allow",
        "Action": [f"apigateway:{verb}" for verb in APIGATEWAY_ACTIONS],
        "Resource": [f"arn:{partition}:apigateway:{region}::/*" for region in regions],
    })
    services.append({
        "Sid": "DashboardsAndDnsRecords",
        "Effect": "Allow",
        "Action": ["cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards",
                   "route53:GetHostedZone", "route53:ListResourceRecordSets", "route53:ChangeResourceRecordSets",
                   "route53:GetChange"],
        # Dashboards have no region in their ARN; hosted zones and changes neither region nor account.
        "Resource": [f"arn:{partition}:cloudwatch::{account_id}:dashboard/*",
                     f"arn:{partition}:route53:::hostedzone/*", f"arn:{partition}:route53:::change/*"],
    })
    identity = [
        {"Sid": "ReadWhatAcceptsOnlyStar", "Effect": "Allow", "Action": list(READ_EVERYWHERE), "Resource": "*"},
        {
            "Sid": "CreateKeysAndCertificatesTaggedForTheProject",
            "Effect": "Allow",
            "Action": list(CREATE_EVERYWHERE),
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestTag/Project": project}},
        },
        {
            "Sid": "StackRolesAndProfiles",
            "Effect": "Allow",
            "Action": list(IAM_ACTIONS),
            "Resource": [f"arn:{partition}:iam::{account_id}:{kind}{iam_path}*"
                         for kind in ("role", "instance-profile")],
        },
        {
            "Sid": "PassStackRolesToTheirServices",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": f"arn:{partition}:iam::{account_id}:role{iam_path}*",
            "Condition": {"StringEquals": {"iam:PassedToService": list(PASSED_TO)}},
        },
        {
            "Sid": "ServiceLinkedRolesOnFirstUse",
            "Effect": "Allow",
            "Action": ["iam:CreateServiceLinkedRole", "iam:GetRole"],
            "Resource": [f"arn:{partition}:iam::{account_id}:role/aws-service-role/{role}"
                         for role in SERVICE_LINKED_ROLES.values()],
            "Condition": {"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED_ROLES)}},
        },
        {
            "Sid": "StackBuckets",
            "Effect": "Allow",
            "Action": ["s3:CreateBucket", "s3:DeleteBucket", "s3:ListBucket", "s3:GetBucket*", "s3:PutBucket*",
                       "s3:DeleteBucketPolicy", "s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration",
                       "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration",
                       "s3:GetAccelerateConfiguration", "s3:GetReplicationConfiguration"],
            "Resource": f"arn:{partition}:s3:::{bucket_prefix}*",
        },
    ]
    return [document(*identity), *_packed(services)]


def ci_policy_path(ctx: DeployContext) -> str:
    return f"/{ctx.project}-ci/{ctx.stack}/"


def _sid(service: str) -> str:
    return "".join(part.capitalize() for part in service.split("-")) + "InStackAccountAndRegions"


def _packed(statements: list[Document]) -> list[Document]:
    """The statements in as few documents as fit IAM's managed policy size each."""
    documents: list[list[Document]] = [[]]
    for statement in statements:
        if documents[-1] and _size(document(*documents[-1], statement)) > MAX_MANAGED_POLICY_CHARS:
            documents.append([])
        documents[-1].append(statement)
    return [document(*group) for group in documents]


def _size(doc: Document) -> int:
    return len("".join(to_json(doc).split()))


@dataclass
class CiAccessArgs:
    settings: CiSettings
    context: DeployContext
    regions: list[str]
    """The stack's region, and the disaster-recovery region when the server copies snapshots there."""


class CiAccess(pulumi.ComponentResource):
    """GitHub's OIDC provider (unless the account has one) and the role the stack's workflows assume."""

    role_arn: pulumi.Output[str]
    provider_arn: pulumi.Output[str]

    def __init__(self, name: str, args: CiAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aws-compute:ci:CiAccess", name, None, opts)
        settings, ctx = args.settings, args.context
        child = pulumi.ResourceOptions(parent=self)
        tags = with_name(ctx.tags, f"{ctx.name_prefix}-ci")
        if settings.oidc_provider_arn:
            provider_arn: pulumi.Input[str] = settings.oidc_provider_arn
        else:
            # Without thumbprints: IAM trusts GitHub's OIDC endpoint through its own library of root CAs
            # (AWS, "Create an OpenID Connect (OIDC) identity provider in IAM"); the argument is optional.
            provider_arn = aws.iam.OpenIdConnectProvider(
                f"{name}-github", url=f"https://{GITHUB_ISSUER}", client_id_lists=[STS_AUDIENCE], tags=tags,
                opts=child).arn
        environment = settings.github_environment or ctx.environment
        role = aws.iam.Role(
            f"{name}-deploy",
            description=f"GitHub Actions of {settings.github_repository}, environment {environment}: "
                        f"preview and deploy {ctx.name_prefix}",
            assume_role_policy=pulumi.Output.from_input(provider_arn).apply(
                lambda arn: to_json(github_trust_policy(arn, settings.github_repository, environment))),
            max_session_duration=3600,
            tags=tags,
            opts=child,
        )
        documents = deploy_policy_documents(ctx.partition, ctx.account_id, args.regions, ctx.iam_path,
                                            ctx.bucket_prefix, ctx.project)
        for index, doc in enumerate(documents):
            # Outside the stack's IAM path, which the role may write to: it cannot rewrite its own permissions.
            policy = aws.iam.Policy(f"{name}-deploy-{index}", path=ci_policy_path(ctx), policy=to_json(doc),
                                    description=f"Deploy {ctx.name_prefix}, part {index + 1} of {len(documents)}",
                                    tags=tags, opts=child)
            aws.iam.RolePolicyAttachment(f"{name}-deploy-{index}", role=role.name, policy_arn=policy.arn,
                                         opts=child)
        self.role_arn = role.arn
        self.provider_arn = pulumi.Output.from_input(provider_arn)
        self.register_outputs({"roleArn": self.role_arn, "providerArn": self.provider_arn})
