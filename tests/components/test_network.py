"""The Network component, run through the real program under mocks for the dev and prod stacks."""

from __future__ import annotations

import inspect
import json

import pulumi_aws
import pytest

from components.layout import plan_subnets

SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
ROUTE = "aws:ec2/route:Route"


def of_network(recording, type_token):
    """Resources of a type that the Network created (other layers have flow-log-like resources too)."""
    return [r for r in recording.of_type(type_token) if r.parent.endswith("aws-compute:network:Network::network")]


def subnets(recording, tier):
    return sorted((r for r in recording.of_type(SUBNET) if r.inputs["tags"]["Tier"] == tier),
                  key=lambda r: r.inputs["availabilityZone"])


def test_dev_has_a_public_and_a_private_subnet_in_each_of_two_azs(dev_stack):
    assert [s.inputs["availabilityZone"] for s in subnets(dev_stack, "public")] == ["us-east-1a", "us-east-1b"]
    assert [s.inputs["availabilityZone"] for s in subnets(dev_stack, "private")] == ["us-east-1a", "us-east-1b"]


def test_prod_has_three_azs_of_subnets(prod_stack):
    assert len(subnets(prod_stack, "public")) == 3
    assert len(subnets(prod_stack, "private")) == 3


def test_subnet_cidrs_follow_the_layout(prod_stack):
    planned = {(p.tier, p.cidr) for p in plan_subnets("10.20.0.0/16", 3)}
    recorded = {(r.inputs["tags"]["Tier"], r.inputs["cidrBlock"]) for r in prod_stack.of_type(SUBNET)}
    assert recorded == planned


def test_raising_the_az_count_keeps_every_subnet_and_its_cidr(dev_stack, stack_with):
    grown = stack_with("dev", {"aws-compute:network.azCount": "3"})
    before = {(r.urn, r.inputs["cidrBlock"]) for r in dev_stack.of_type(SUBNET)}
    after = {(r.urn, r.inputs["cidrBlock"]) for r in grown.of_type(SUBNET)}
    assert before < after


def test_no_subnet_maps_public_ips_on_launch(prod_stack):
    assert all(r.inputs["mapPublicIpOnLaunch"] is False for r in prod_stack.of_type(SUBNET))


def test_the_vpc_has_dns_support_and_hostnames(dev_stack):
    (vpc,) = dev_stack.of_type("aws:ec2/vpc:Vpc")
    assert vpc.inputs["enableDnsSupport"] is True and vpc.inputs["enableDnsHostnames"] is True


@pytest.mark.parametrize(("strategy", "nats", "default_routes"), [("none", 0, 0), ("single", 1, 3), ("per-az", 3, 3)])
def test_nat_gateways_and_private_default_routes_follow_the_strategy(stack_with, strategy, nats, default_routes):
    recording = stack_with("prod", {"aws-compute:network.natGateways": strategy})
    assert len(recording.of_type(NAT)) == nats
    private_defaults = [r for r in recording.of_type(ROUTE) if "natGatewayId" in r.inputs]
    assert len(private_defaults) == default_routes


def test_per_az_nat_routes_each_private_subnet_through_its_own_azs_gateway(prod_stack):
    nat_subnet = {r.id: r.inputs["subnetId"] for r in prod_stack.of_type(NAT)}
    public_by_letter = {r.name[-1]: r.id for r in subnets(prod_stack, "public")}
    for route in (r for r in prod_stack.of_type(ROUTE) if "natGatewayId" in r.inputs):
        assert nat_subnet[route.inputs["natGatewayId"]] == public_by_letter[route.name[-1]]


def test_flow_logs_go_to_an_encrypted_log_group_with_retention(dev_stack):
    (flow_log,) = of_network(dev_stack, "aws:ec2/flowLog:FlowLog")
    (log_group,) = of_network(dev_stack, "aws:cloudwatch/logGroup:LogGroup")
    (vpc,) = dev_stack.of_type("aws:ec2/vpc:Vpc")
    (key,) = [k for k in dev_stack.of_type("aws:kms/key:Key") if k.name == "stack-key"]
    assert flow_log.inputs["vpcId"] == vpc.id
    assert flow_log.inputs["logDestination"] == log_group.outputs["arn"]
    assert log_group.inputs["kmsKeyId"] == key.outputs["arn"]
    assert log_group.inputs["retentionInDays"] == 30
    assert log_group.inputs["name"] == "/aws-compute/dev/vpc-flow-logs"


def test_flow_logs_can_be_turned_off(stack_with):
    recording = stack_with("dev", {"aws-compute:network.flowLogs": "false"})
    assert recording.of_type("aws:ec2/flowLog:FlowLog") == []


def test_the_flow_log_role_may_write_only_to_its_log_group(dev_stack):
    (policy,) = of_network(dev_stack, "aws:iam/rolePolicy:RolePolicy")
    (log_group,) = of_network(dev_stack, "aws:cloudwatch/logGroup:LogGroup")
    write, describe = json.loads(policy.inputs["policy"])["Statement"]
    arn = log_group.outputs["arn"]
    assert write["Resource"] == [arn, f"{arn}:*"]
    assert set(write["Action"]) == {"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"}
    # DescribeLogGroups, which AWS's flow-log guide also lists, lists groups: the region's, never "*".
    assert describe["Action"] == "logs:DescribeLogGroups"
    assert describe["Resource"] == arn.split(":log-group:")[0] + ":log-group:*"


def test_the_flow_log_role_is_assumable_only_by_vpc_flow_logs_of_this_account(dev_stack):
    role = next(r for r in dev_stack.of_type("aws:iam/role:Role") if r.name == "network-flow-logs-role")
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_the_default_security_group_is_adopted_with_no_rules(dev_stack):
    (default_sg,) = dev_stack.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert "ingress" not in default_sg.inputs and "egress" not in default_sg.inputs


def test_an_s3_gateway_endpoint_serves_every_route_table(dev_stack):
    (endpoint,) = [r for r in dev_stack.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
                   if r.inputs["vpcEndpointType"] == "Gateway"]
    assert endpoint.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert len(endpoint.inputs["routeTableIds"]) == len(dev_stack.of_type("aws:ec2/routeTable:RouteTable"))


def test_interface_endpoints_sit_in_private_subnets_behind_an_https_only_group(prod_stack):
    interface = [r for r in prod_stack.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
                 if r.inputs["vpcEndpointType"] == "Interface"]
    assert {r.inputs["serviceName"].rsplit(".", 1)[-1] for r in interface} >= {"ssm", "logs", "dkr", "api"}
    private_ids = {r.id for r in subnets(prod_stack, "private")}
    assert all(set(r.inputs["subnetIds"]) == private_ids and r.inputs["privateDnsEnabled"] for r in interface)
    sg = next(r for r in prod_stack.of_type("aws:ec2/securityGroup:SecurityGroup") if r.name == "network-endpoints-sg")
    ingress = [(i["fromPort"], i["toPort"], i["cidrBlocks"]) for i in sg.inputs["ingress"]]
    assert ingress == [(443, 443, ["10.20.0.0/16"])]


def test_the_stack_key_rotates_and_lets_logs_use_it_only_for_this_stacks_log_groups(dev_stack):
    (key,) = dev_stack.of_type("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    logs = statements["CloudWatchLogsUsesKeyForThisStacksLogGroups"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == [
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws-compute/dev/*",
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/aws-compute-dev-*",
        "arn:aws:logs:us-east-1:123456789012:log-group:aws-waf-logs-aws-compute-dev-*",
    ]


def _accepts_tags(type_token: str) -> bool:
    _package, module_path, name = type_token.split(":")
    module = getattr(pulumi_aws, module_path.split("/")[0].replace("lambda", "lambda_"), None)
    cls = getattr(module, name, None)
    return cls is not None and "tags" in inspect.signature(cls._internal_init).parameters


@pytest.mark.parametrize("stack", ["dev_stack", "prod_stack"])
def test_every_taggable_resource_carries_the_standard_tags(stack, request):
    recording = request.getfixturevalue(stack)
    environment = "dev" if stack == "dev_stack" else "prod"
    taggable = [r for r in recording.resources if r.type.startswith("aws:") and _accepts_tags(r.type)]
    assert taggable
    for resource in taggable:
        tags = resource.inputs.get("tags", {})
        if isinstance(tags, list):  # an Auto Scaling group's tags: [{key, value, propagateAtLaunch}]
            tags = {tag["key"]: tag["value"] for tag in tags}
        assert tags.get("Project") == "aws-compute", resource.urn
        assert tags.get("Environment") == environment, resource.urn
        assert tags.get("ManagedBy") == "pulumi:aws-compute", resource.urn


def test_extra_tags_from_config_reach_the_resources(prod_stack):
    (vpc,) = prod_stack.of_type("aws:ec2/vpc:Vpc")
    assert vpc.inputs["tags"]["CostCenter"] == "platform"
    assert vpc.inputs["tags"]["DataClassification"] == "internal"
