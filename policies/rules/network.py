"""Network policies: security group ingress, the default security group, subnets and flow logs."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .base import Resource, Stack, as_list, indexed, resource_rule, stack_rule

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS_TYPES = (SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE)
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SUBNET = "aws:ec2/subnet:Subnet"
ALL_PROTOCOLS = ("-1", "all")
TCP = ("tcp", "6")


@dataclass(frozen=True)
class Ingress:
    """One ingress permission, whichever of the three Pulumi resources declared it."""

    protocol: str
    from_port: int | None
    to_port: int | None
    cidr: str
    path: str

    def covers_tcp_port(self, port: int) -> bool:
        if self.protocol in ALL_PROTOCOLS:
            return True  # protocol -1 opens every port whatever fromPort/toPort say
        if self.protocol not in TCP or self.from_port is None or self.to_port is None:
            return False
        return self.from_port <= port <= self.to_port

    @property
    def all_ports(self) -> bool:
        if self.protocol in ALL_PROTOCOLS:
            return True
        return self.from_port is not None and self.to_port is not None and \
            self.from_port <= 0 and self.to_port >= 65535

    def describe(self) -> str:
        if self.protocol in ALL_PROTOCOLS:
            return "all protocols and ports"
        return f"{self.protocol} {self.from_port}-{self.to_port}"


def _port(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _protocol(value: Any) -> str:
    return str(value).lower() if value is not None else ""


def ingress_of(resource: Resource) -> Iterator[Ingress]:
    """Every (rule, source CIDR) pair that admits traffic, with the property path that declares it."""
    if resource.type == SECURITY_GROUP:
        for i, rule in indexed(resource.get("ingress")):
            if isinstance(rule, Mapping):
                yield from _cidr_permissions(rule, f"ingress[{i}]")
    elif resource.type == SECURITY_GROUP_RULE and resource.get("type") == "ingress":
        yield from _cidr_permissions(resource.props, "")
    elif resource.type == INGRESS_RULE:
        protocol = _protocol(resource.get("ipProtocol"))
        for key in ("cidrIpv4", "cidrIpv6"):
            cidr = resource.get(key)
            if isinstance(cidr, str):
                yield Ingress(protocol, _port(resource.get("fromPort")), _port(resource.get("toPort")), cidr, key)


def _cidr_permissions(rule: Mapping[str, Any], prefix: str) -> Iterator[Ingress]:
    protocol = _protocol(rule.get("protocol"))
    low, high = _port(rule.get("fromPort")), _port(rule.get("toPort"))
    for key in ("cidrBlocks", "ipv6CidrBlocks"):
        for j, cidr in indexed(rule.get(key)):
            if isinstance(cidr, str):
                path = f"{prefix}.{key}[{j}]" if prefix else f"{key}[{j}]"
                yield Ingress(protocol, low, high, cidr, path)


def is_world(cidr: str) -> bool:
    """0.0.0.0/0 and ::/0, however written: any prefix of length zero is the whole internet."""
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False


def _world_port_findings(resource: Resource, port: int, service: str) -> Iterator[str]:
    for ingress in ingress_of(resource):
        if is_world(ingress.cidr) and ingress.covers_tcp_port(port):
            yield (f"{ingress.path} = {ingress.cidr} admits {service} (tcp {port}) from the whole internet "
                   f"through a rule for {ingress.describe()}; allowed: specific source CIDRs or security groups")


@resource_rule(
    name="no-world-ssh",
    description="Ensure no security group admits SSH (tcp 22) from 0.0.0.0/0 or ::/0.",
    severity="critical",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_24", "fsbp:EC2.13", "cis-aws:5.2", "cis-aws:5.3", "trivy:AVD-AWS-0107",
              "catalog:N1"],
    remediation="List the admin CIDRs in aws-compute:server.sshCidrs (e.g. 203.0.113.10/32), or drop the rule "
                "and use SSM Session Manager: `aws ssm start-session --target <instance-id>`.",
    types=INGRESS_TYPES,
)
def no_world_ssh(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    return _world_port_findings(resource, 22, "SSH")


@resource_rule(
    name="no-world-rdp",
    description="Ensure no security group admits RDP (tcp 3389) from 0.0.0.0/0 or ::/0.",
    severity="critical",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_25", "fsbp:EC2.14", "cis-aws:5.2", "cis-aws:5.3", "trivy:AVD-AWS-0107",
              "catalog:N2"],
    remediation="Restrict the rule's cidr_blocks to the admins' networks, or reach Windows hosts through "
                "SSM Session Manager port forwarding instead of an open RDP port.",
    types=INGRESS_TYPES,
)
def no_world_rdp(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    return _world_port_findings(resource, 3389, "RDP")


@resource_rule(
    name="no-world-all-ports-ingress",
    description="Ensure no security group admits all ports or all protocols from 0.0.0.0/0 or ::/0.",
    severity="critical",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_277", "fsbp:EC2.18", "catalog:N3"],
    remediation="Replace protocol='-1' or ports 0-65535 with the one port the service listens on, e.g. "
                "aws.ec2.SecurityGroupIngressArgs(protocol='tcp', from_port=443, to_port=443, ...).",
    types=INGRESS_TYPES,
)
def no_world_all_ports(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    for ingress in ingress_of(resource):
        if is_world(ingress.cidr) and ingress.all_ports:
            yield (f"{ingress.path} = {ingress.cidr} admits {ingress.describe()} from the whole internet; "
                   f"allowed: single ports or narrow ranges")


@resource_rule(
    name="default-security-group-no-rules",
    description="Ensure each VPC's default security group has no ingress and no egress rules.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV2_AWS_12", "fsbp:EC2.2", "cis-aws:5.4", "trivy:AVD-AWS-0173", "catalog:N10"],
    remediation="Adopt it with aws.ec2.DefaultSecurityGroup(vpc_id=...) and no ingress or egress arguments; "
                "give workloads their own security groups.",
    types=[DEFAULT_SECURITY_GROUP],
)
def default_security_group_no_rules(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    for direction in ("ingress", "egress"):
        rules = as_list(resource.get(direction))
        if rules:
            yield f"{direction} has {len(rules)} rule(s); allowed: none"


@resource_rule(
    name="subnet-no-public-ip-on-launch",
    description="Ensure subnets do not assign public IPv4 addresses to instances automatically.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_130", "fsbp:EC2.15", "trivy:AVD-AWS-0164", "catalog:N14"],
    remediation="Set map_public_ip_on_launch=False on the subnet; give the one instance that needs a public "
                "address associate_public_ip_address=True instead.",
    types=[SUBNET],
)
def subnet_no_public_ip(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if resource.get("mapPublicIpOnLaunch") is True:
        yield "mapPublicIpOnLaunch = true; allowed: false"


@stack_rule(
    name="vpc-flow-logs-enabled",
    description="Ensure every VPC has a flow log.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV2_AWS_11", "fsbp:EC2.6", "cis-aws:3.7", "trivy:AVD-AWS-0178", "catalog:N12"],
    remediation="Keep aws-compute:network.flowLogs true, or add aws.ec2.FlowLog(vpc_id=vpc.id, "
                "traffic_type='ALL', log_destination=<log group ARN>, iam_role_arn=...).",
)
def vpc_flow_logs(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    logged = {r.get("vpcId") for r in stack.of_type(FLOW_LOG)} - {None}
    logged_urns = {urn for r in stack.of_type(FLOW_LOG) for urn in r.property_dependencies.get("vpcId", ())}
    for vpc in stack.of_type(VPC):
        if vpc.id not in logged and vpc.urn not in logged_urns:
            yield vpc, "no aws:ec2/flowLog:FlowLog has this VPC's id as vpcId; allowed: a flow log per VPC"
