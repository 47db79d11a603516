"""Network policies: security groups, NACLs, the default VPC, subnets, flow logs and interface endpoints.

Each policy is called directly with Pulumi inputs as the engine sends them (camelCase); one test sends
a stack through the real pack over gRPC.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from policies.rules import RULES, Resource, Stack, base, rule_named
from policies.rules.base import UNKNOWN_SENTINELS

from .pack_client import PackClient, as_recorded

SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
NACL = "aws:ec2/networkAcl:NetworkAcl"
NACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
NACL_ASSOCIATION = "aws:ec2/networkAclAssociation:NetworkAclAssociation"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
INSTANCE = "aws:ec2/instance:Instance"
ECS_SERVICE = "aws:ecs/service:Service"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
assert UNKNOWN_STRING in UNKNOWN_SENTINELS


@contextlib.contextmanager
def pack_config(properties: Mapping[str, Mapping[str, Any]] | None = None,
                disabled: set[str] | None = None) -> Iterator[None]:
    """The pack as the engine would configure it (other policies' config and disabled policies), restored after."""
    saved = dict(base._PACK_CONFIG), set(base._DISABLED)
    base.remember_pack_config(properties or {}, disabled or set())
    try:
        yield
    finally:
        base.remember_pack_config(*saved)


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:test::aws-compute::{type_}::{name}"


def resource(type_: str, name: str = "r", deps: dict[str, list[str]] | None = None, **props: Any) -> Resource:
    return Resource(type_, props, name=name, urn=urn(type_, name),
                    property_dependencies={k: tuple(v) for k, v in (deps or {}).items()})


def permission(protocol: str = "tcp", from_port: int = 443, to_port: int | None = None, cidrs=(), ipv6=(),
               **extra: Any) -> dict[str, Any]:
    rule = {"protocol": protocol, "fromPort": from_port, "toPort": from_port if to_port is None else to_port,
            "description": "clients", **extra}
    if cidrs:
        rule["cidrBlocks"] = list(cidrs)
    if ipv6:
        rule["ipv6CidrBlocks"] = list(ipv6)
    return rule


def group(name: str = "sg", ingress=None, egress=None, **props: Any) -> Resource:
    props.setdefault("description", "the web tier")
    props.setdefault("id", f"sg-{name}")
    if ingress is not None:
        props["ingress"] = ingress
    if egress is not None:
        props["egress"] = egress
    return resource(SG, name, **props)


def check(policy: str, subject: Resource, config: dict[str, Any] | None = None) -> list[str]:
    return rule_named(policy).evaluate(subject, config)


def check_stack(policy: str, *resources: Resource, config: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    return [(r.name, message) for r, message in rule_named(policy).evaluate_stack(Stack(resources), config)]


# --- N1-N3: SSH, RDP, all ports from the world ----------------------------------------------------

def test_ssh_from_the_world_is_refused_with_the_property_path():
    messages = check("no-world-ssh", group(ingress=[permission(from_port=22, cidrs=["0.0.0.0/0"])]))
    assert len(messages) == 1 and messages[0].startswith("ingress[0].cidrBlocks[0] = 0.0.0.0/0 admits SSH")


def test_ssh_from_an_admin_network_is_allowed():
    assert check("no-world-ssh", group(ingress=[permission(from_port=22, cidrs=["203.0.113.0/24"])])) == []


def test_self_reference_does_not_excuse_a_world_open_ssh_rule():
    rule = permission(from_port=22, cidrs=["0.0.0.0/0"], self=True, securityGroups=["sg-other"])
    assert len(check("no-world-ssh", group(ingress=[rule]))) == 1


def test_ipv6_world_counts_as_the_world_for_rdp():
    messages = check("no-world-rdp", group(ingress=[permission(from_port=3389, ipv6=["::/0"])]))
    assert messages and "ipv6CidrBlocks[0] = ::/0" in messages[0]


def test_rdp_from_a_narrow_range_is_allowed():
    assert check("no-world-rdp", group(ingress=[permission(from_port=3389, cidrs=["203.0.113.7/32"])])) == []


def test_protocol_minus_one_without_ports_opens_every_port_on_a_standalone_rule():
    rule = resource(INGRESS_RULE, ipProtocol="-1", cidrIpv4="0.0.0.0/0", securityGroupId="sg-1")
    # One defect, one finding: all ports, not also SSH, high-risk ports and unauthorized ports.
    assert len(check("no-world-all-ports-ingress", rule)) == 1
    for quiet in ("no-world-ssh", "no-world-rdp", "no-world-high-risk-ports", "world-ingress-authorized-ports-only"):
        assert check(quiet, rule) == [], quiet


def test_ssh_open_to_the_world_gives_one_mandatory_finding():
    sg = group(ingress=[permission(from_port=22, cidrs=["0.0.0.0/0"])])
    found = [r.name for r in RULES if r.kind == "resource" and r.enforcement == "mandatory" and r.evaluate(sg)]
    assert found == ["no-world-ssh"]


def test_all_ports_from_a_private_range_is_allowed():
    rule = resource(SG_RULE, type="ingress", protocol="-1", fromPort=0, toPort=0, cidrBlocks=["10.0.0.0/16"])
    assert check("no-world-all-ports-ingress", rule) == []


def test_an_unknown_source_on_an_ssh_rule_cannot_be_verified():
    messages = check("no-world-ssh", group(ingress=[permission(from_port=22, cidrs=[UNKNOWN_STRING])]))
    assert messages == ["ingress[0].cidrBlocks[0] cannot be verified during preview: its value is known only "
                        "after the update"]


# --- N4: world-open ports only on the allow-list -------------------------------------------------

def test_https_from_the_world_is_an_authorized_port():
    assert check("world-ingress-authorized-ports-only", group(ingress=[permission(cidrs=["0.0.0.0/0"])])) == []


def test_a_world_open_port_outside_the_allow_list_is_refused():
    messages = check("world-ingress-authorized-ports-only",
                     group(ingress=[permission(from_port=8443, cidrs=["0.0.0.0/0"])]))
    assert messages == ["ingress[0].cidrBlocks[0] = 0.0.0.0/0 admits tcp 8443-8443 from the whole internet; "
                        "allowed from the world: tcp [80, 443], udp []"]


def test_a_range_spanning_authorized_ports_is_still_refused():
    rule = group(ingress=[permission(from_port=440, to_port=443, cidrs=["0.0.0.0/0"])])
    assert len(check("world-ingress-authorized-ports-only", rule)) == 1


def test_a_world_ingress_on_high_risk_ports_is_one_finding_of_the_high_risk_policy():
    rule = group(ingress=[permission(from_port=80, to_port=443, cidrs=["0.0.0.0/0"])])
    [message] = check("no-world-high-risk-ports", rule)
    assert "high-risk port(s) [110, 135, 143]" in message
    assert check("world-ingress-authorized-ports-only", rule) == []


def test_an_unauthorized_world_ingress_on_no_high_risk_port_is_the_authorized_ports_finding_alone():
    rule = group(ingress=[permission(from_port=6379, cidrs=["0.0.0.0/0"])])
    assert len(check("world-ingress-authorized-ports-only", rule)) == 1
    assert check("no-world-high-risk-ports", rule) == []


def test_a_disabled_high_risk_policy_leaves_its_ingress_to_the_authorized_ports_policy():
    rule = group(ingress=[permission(from_port=5432, cidrs=["0.0.0.0/0"])])
    with pack_config(disabled={"no-world-high-risk-ports"}):
        assert len(check("world-ingress-authorized-ports-only", rule)) == 1


def test_the_high_risk_ports_the_pack_is_configured_with_decide_who_reports():
    rule = group(ingress=[permission(from_port=6379, cidrs=["0.0.0.0/0"])])
    with pack_config({"no-world-high-risk-ports": {"highRiskPorts": [6379]}}):
        assert check("world-ingress-authorized-ports-only", rule) == []
        assert len(check("no-world-high-risk-ports", rule, {"highRiskPorts": [6379]})) == 1


def test_authorized_ports_are_configurable_and_accept_json_floats():
    rule = group(ingress=[permission(protocol="udp", from_port=51820, ipv6=["::/0"])])
    assert len(check("world-ingress-authorized-ports-only", rule)) == 1
    assert check("world-ingress-authorized-ports-only", rule, {"authorizedUdpPorts": [51820.0]}) == []


def test_icmp_from_the_world_is_not_an_authorized_port():
    rule = group(ingress=[permission(protocol="icmp", from_port=8, to_port=0, cidrs=["0.0.0.0/0"])])
    assert len(check("world-ingress-authorized-ports-only", rule)) == 1


# --- N5: high-risk ports ------------------------------------------------------------------------

def test_postgres_open_to_the_world_is_a_high_risk_port():
    rule = resource(INGRESS_RULE, ipProtocol="tcp", fromPort=5432, toPort=5432, cidrIpv4="0.0.0.0/0")
    messages = check("no-world-high-risk-ports", rule)
    assert len(messages) == 1 and "high-risk port(s) [5432]" in messages[0]


def test_a_wide_range_reports_every_high_risk_port_it_covers_in_one_message():
    messages = check("no-world-high-risk-ports", group(ingress=[permission(from_port=1433, to_port=3306,
                                                                           cidrs=["0.0.0.0/0"])]))
    assert len(messages) == 1 and "[1433, 1434, 3306]" in messages[0]


def test_https_from_the_world_is_not_a_high_risk_port():
    assert check("no-world-high-risk-ports", group(ingress=[permission(cidrs=["0.0.0.0/0"])])) == []


def test_high_risk_ports_are_configurable():
    rule = group(ingress=[permission(from_port=6379, cidrs=["0.0.0.0/0"])])
    assert check("no-world-high-risk-ports", rule) == []
    assert len(check("no-world-high-risk-ports", rule, {"highRiskPorts": [6379]})) == 1


# --- N6: HTTP from the world only on load balancers ----------------------------------------------

def test_http_from_the_world_on_an_instance_security_group_is_refused():
    sg = group("app", ingress=[permission(from_port=80, cidrs=["0.0.0.0/0"])])
    instance = resource(INSTANCE, "web", vpcSecurityGroupIds=["sg-app"])
    assert [name for name, _ in check_stack("no-world-http-except-load-balancers", sg, instance)] == ["app"]


def test_http_from_the_world_on_a_load_balancer_security_group_is_allowed():
    sg = group("alb", ingress=[permission(from_port=80, cidrs=["0.0.0.0/0"])])
    alb = resource(LOAD_BALANCER, "alb", securityGroups=[UNKNOWN_STRING], deps={"securityGroups": [sg.urn]})
    assert check_stack("no-world-http-except-load-balancers", sg, alb) == []


def test_a_standalone_http_rule_on_a_group_shared_with_instances_is_refused():
    sg = group("shared")
    rule = resource(INGRESS_RULE, "http", ipProtocol="tcp", fromPort=80, toPort=80, cidrIpv4="0.0.0.0/0",
                    securityGroupId="sg-shared")
    alb = resource(LOAD_BALANCER, "alb", securityGroups=["sg-shared"])
    instance = resource(INSTANCE, "web", vpcSecurityGroupIds=["sg-shared"])
    assert [name for name, _ in check_stack("no-world-http-except-load-balancers", sg, rule, alb, instance)] == \
        ["http"]


def test_load_balancer_exemption_can_be_switched_off():
    sg = group("alb", ingress=[permission(from_port=80, cidrs=["0.0.0.0/0"])])
    alb = resource(LOAD_BALANCER, "alb", securityGroups=["sg-alb"])
    assert len(check_stack("no-world-http-except-load-balancers", sg, alb,
                           config={"allowOnLoadBalancers": False})) == 1


# --- N7: unrestricted egress --------------------------------------------------------------------

def test_all_traffic_to_the_world_is_unrestricted_egress():
    sg = group(egress=[permission(protocol="-1", from_port=0, to_port=0, cidrs=["0.0.0.0/0"])])
    assert check("no-unrestricted-egress", sg) == ["egress[0].cidrBlocks[0] = 0.0.0.0/0 sends all protocols and "
                                                   "ports to the whole internet; allowed: specific ports or "
                                                   "narrower destinations"]


def test_https_egress_to_the_world_is_allowed_unless_strict():
    rule = resource(EGRESS_RULE, ipProtocol="tcp", fromPort=443, toPort=443, cidrIpv6="::/0")
    assert check("no-unrestricted-egress", rule) == []
    assert len(check("no-unrestricted-egress", rule, {"strict": True})) == 1


def test_ingress_rules_are_not_egress():
    rule = resource(SG_RULE, type="ingress", protocol="-1", fromPort=0, toPort=0, cidrBlocks=["0.0.0.0/0"])
    assert check("no-unrestricted-egress", rule) == []


# --- N8: descriptions ---------------------------------------------------------------------------

def test_a_group_without_description_gets_the_providers_meaningless_default():
    sg = resource(SG, ingress=[permission(cidrs=["10.0.0.0/8"])])
    assert check("security-group-descriptions", sg) == [
        "description is not set; the provider fills in 'Managed by Pulumi'; allowed: a sentence saying what "
        "the traffic is for"]


def test_every_inline_rule_needs_its_own_description():
    sg = group(ingress=[permission(cidrs=["10.0.0.0/8"], description="")], egress=[{"protocol": "tcp"}])
    messages = check("security-group-descriptions", sg)
    assert [m.split(" ", 1)[0] for m in messages] == ["ingress[0].description", "egress[0].description"]


def test_a_described_standalone_rule_passes():
    rule = resource(INGRESS_RULE, ipProtocol="tcp", fromPort=443, toPort=443, description="HTTPS from the ALB")
    assert check("security-group-descriptions", rule) == []


# --- N9: inline and standalone rules ------------------------------------------------------------

def test_a_standalone_rule_on_a_group_with_inline_rules_of_that_direction_conflicts():
    sg = group("web", ingress=[permission(cidrs=["10.0.0.0/8"])])
    rule = resource(INGRESS_RULE, "extra", ipProtocol="tcp", fromPort=22, toPort=22, securityGroupId=UNKNOWN_STRING,
                    deps={"securityGroupId": [sg.urn]})
    assert [name for name, _ in check_stack("security-group-rules-managed-one-way", sg, rule)] == ["extra"]


def test_a_deployed_group_whose_outputs_list_only_its_separate_rules_does_not_conflict():
    # After an update, AWS reports the separate rules' permissions in the group's ingress output too.
    sg = group("web", ingress=[permission(from_port=443, cidrs=["10.0.0.0/8"])])
    rule = resource(SG_RULE, "https", type="ingress", protocol="6", fromPort=443, toPort=443, securityGroupId="sg-web")
    assert check_stack("security-group-rules-managed-one-way", sg, rule) == []


def test_an_empty_or_unknown_inline_list_is_no_evidence_of_inline_rules():
    for ingress in ([], UNKNOWN_STRING):
        sg = group("web", ingress=ingress)
        rule = resource(INGRESS_RULE, "extra", ipProtocol="tcp", fromPort=443, toPort=443, securityGroupId="sg-web")
        assert check_stack("security-group-rules-managed-one-way", sg, rule) == []


def test_a_standalone_rule_of_the_other_direction_does_not_conflict():
    sg = group("web", ingress=[permission(cidrs=["10.0.0.0/8"])])
    rule = resource(EGRESS_RULE, "out", securityGroupId="sg-web")
    assert check_stack("security-group-rules-managed-one-way", sg, rule) == []


def test_any_rule_resource_on_the_default_security_group_conflicts():
    default = resource(DEFAULT_SG, "default", id="sg-default")
    rule = resource(SG_RULE, "allow", type="egress", securityGroupId="sg-default")
    assert len(check_stack("security-group-rules-managed-one-way", default, rule)) == 1


# --- N11: attached security groups ---------------------------------------------------------------

def test_a_group_nothing_uses_is_reported():
    assert [name for name, _ in check_stack("security-group-attached", group("orphan"))] == ["orphan"]


def test_a_group_named_inside_an_ecs_network_configuration_is_attached():
    service = resource(ECS_SERVICE, "svc", networkConfiguration={"securityGroups": ["sg-tasks"], "subnets": []})
    assert check_stack("security-group-attached", group("tasks"), service) == []


def test_a_group_used_through_a_property_dependency_during_preview_is_attached():
    sg = group("lt", id=UNKNOWN_STRING)
    template = resource(LAUNCH_TEMPLATE, "lt", vpcSecurityGroupIds=[UNKNOWN_STRING],
                        deps={"vpcSecurityGroupIds": [sg.urn]})
    assert check_stack("security-group-attached", sg, template) == []


def test_being_the_source_of_another_groups_rule_is_not_an_attachment():
    source = group("source")
    rule = resource(INGRESS_RULE, "from-source", securityGroupId="sg-target", referencedSecurityGroupId="sg-source")
    assert [name for name, _ in check_stack("security-group-attached", source, rule)] == ["source"]


# --- N10, N12, N13, N14: default SG, flow logs, default VPC, public IPs ---------------------------

def test_default_security_group_with_rules_is_refused():
    default = resource(DEFAULT_SG, ingress=[permission(protocol="-1", from_port=0, to_port=0, self=True)])
    assert check("default-security-group-no-rules", default) == ["ingress has 1 rule(s); allowed: none"]
    assert check("default-security-group-no-rules", resource(DEFAULT_SG, vpcId="vpc-1")) == []


def test_a_vpc_without_flow_log_is_reported_and_one_with_a_flow_log_is_not():
    vpc = resource(VPC, "main", id="vpc-1")
    assert len(check_stack("vpc-flow-logs-enabled", vpc)) == 1
    flow_log = resource(FLOW_LOG, "log", vpcId=UNKNOWN_STRING, deps={"vpcId": [vpc.urn]})
    assert check_stack("vpc-flow-logs-enabled", vpc, flow_log) == []


def test_adopting_the_default_vpc_or_its_subnets_is_refused():
    assert len(check("no-default-vpc", resource("aws:ec2/defaultVpc:DefaultVpc"))) == 1
    assert len(check("no-default-vpc", resource("aws:ec2/defaultSubnet:DefaultSubnet"))) == 1
    assert check("no-default-vpc", resource(VPC, cidrBlock="10.0.0.0/16")) == []


def test_subnet_mapping_public_ips_on_launch_is_refused():
    assert check("subnet-no-public-ip-on-launch", resource(SUBNET, mapPublicIpOnLaunch=True)) == [
        "mapPublicIpOnLaunch = true; allowed: false"]
    assert check("subnet-no-public-ip-on-launch", resource(SUBNET, mapPublicIpOnLaunch=False)) == []


# --- N15, N16: network ACL entries --------------------------------------------------------------

def acl_entry(number: int, action: str = "allow", protocol: str = "tcp", from_port: int = 22,
              to_port: int | None = None, cidr: str = "0.0.0.0/0") -> dict[str, Any]:
    key = "ipv6CidrBlock" if ":" in cidr else "cidrBlock"
    return {"ruleNo": number, "action": action, "protocol": protocol, "fromPort": from_port,
            "toPort": from_port if to_port is None else to_port, key: cidr}


def test_nacl_allowing_ssh_from_the_world_is_refused():
    messages = check("nacl-no-world-admin-ports", resource(NACL, ingress=[acl_entry(100)]))
    assert messages == ["ingress[0].cidrBlock = 0.0.0.0/0 allows admin port(s) [22] from the whole internet "
                        "through an entry for tcp 22-22; allowed: specific source networks"]


def test_a_nacl_entry_for_all_ports_is_one_finding_of_the_all_ports_policy():
    rule = resource(NACL_RULE, ruleNumber=100, ruleAction="allow", protocol="-1", cidrBlock="0.0.0.0/0")
    assert len(check("nacl-no-world-all-ports-ingress", rule)) == 1
    assert check("nacl-no-world-admin-ports", rule) == []


def test_nacl_protocol_minus_one_opens_every_admin_port_when_the_all_ports_policy_is_disabled():
    rule = resource(NACL_RULE, ruleNumber=100, ruleAction="allow", protocol="-1", cidrBlock="0.0.0.0/0")
    with pack_config(disabled={"nacl-no-world-all-ports-ingress"}):
        assert "[20, 21, 22, 3389]" in check("nacl-no-world-admin-ports", rule)[0]


def test_a_lower_numbered_world_deny_shadows_the_allow():
    acl = resource(NACL, ingress=[acl_entry(90, "deny", from_port=20, to_port=3389),
                                  acl_entry(100, "allow", "-1", 0, 0)])
    assert check("nacl-no-world-admin-ports", acl) == []


def test_an_ipv4_deny_does_not_shadow_an_ipv6_allow():
    acl = resource(NACL, ingress=[acl_entry(90, "deny"), acl_entry(100, cidr="::/0")])
    assert len(check("nacl-no-world-admin-ports", acl)) == 1


def test_egress_nacl_rules_and_narrow_sources_are_not_admin_exposure():
    assert check("nacl-no-world-admin-ports", resource(NACL_RULE, egress=True, ruleAction="allow", protocol="-1",
                                                       cidrBlock="0.0.0.0/0", ruleNumber=100)) == []
    assert check("nacl-no-world-admin-ports", resource(NACL, ingress=[acl_entry(100, cidr="203.0.113.0/24")])) == []


def test_nacl_allowing_all_ports_from_the_world_is_refused():
    acl = resource(NACL, ingress=[acl_entry(100, protocol="-1", from_port=0, to_port=0)])
    assert check("nacl-no-world-all-ports-ingress", acl) == [
        "ingress[0].cidrBlock = 0.0.0.0/0 allows all protocols and ports from the whole internet; allowed: "
        "explicit ports"]


def test_nacl_allowing_the_ephemeral_range_from_the_world_is_explicit():
    acl = resource(NACL, ingress=[acl_entry(100, from_port=1024, to_port=65535)])
    assert check("nacl-no-world-all-ports-ingress", acl) == []


# --- N17: associated NACLs ----------------------------------------------------------------------

def test_a_nacl_without_subnets_is_reported():
    acl = resource(NACL, "spare", id="acl-1", vpcId="vpc-1")
    assert [name for name, _ in check_stack("nacl-associated", acl)] == ["spare"]


def test_an_unknown_subnet_list_counts_only_when_computed_from_subnets():
    defaulted = resource(NACL, "defaulted", id="acl-1", subnetIds=UNKNOWN_STRING)
    computed = resource(NACL, "computed", id="acl-2", subnetIds=UNKNOWN_STRING,
                        deps={"subnetIds": [urn(SUBNET, "private-a")]})
    assert [name for name, _ in check_stack("nacl-associated", defaulted, computed)] == ["defaulted"]


def test_a_nacl_with_an_association_resource_is_associated():
    acl = resource(NACL, "private", id="acl-1")
    association = resource(NACL_ASSOCIATION, "a", networkAclId=UNKNOWN_STRING, deps={"networkAclId": [acl.urn]})
    assert check_stack("nacl-associated", acl, association) == []
    assert check_stack("nacl-associated", resource(NACL, "inline", id="acl-2", subnetIds=["subnet-1"])) == []


# --- N18: interface endpoints for private workloads ----------------------------------------------

def private_network() -> tuple[Resource, Resource]:
    vpc = resource(VPC, "vpc", id="vpc-1")
    subnet = resource(SUBNET, "private-a", id="subnet-a", vpcId=UNKNOWN_STRING, deps={"vpcId": [vpc.urn]})
    return vpc, subnet


def endpoint(vpc: Resource, service: str, kind: str = "Interface") -> Resource:
    return resource(ENDPOINT, service, vpcId="vpc-1", vpcEndpointType=kind,
                    serviceName=f"com.amazonaws.eu-west-1.{service}")


def test_a_private_fargate_service_without_ecr_endpoints_is_reported_on_its_vpc():
    vpc, subnet = private_network()
    service = resource(ECS_SERVICE, "web", networkConfiguration={"subnets": ["subnet-a"], "assignPublicIp": False})
    assert check_stack("private-workloads-have-interface-endpoints", vpc, subnet, service) == [
        ("vpc", "no interface VpcEndpoint in this VPC for ecr.api (for web); ecr.dkr (for web); allowed: one "
                "endpoint per listed service")]


def test_a_private_instance_with_the_ssm_endpoints_passes():
    vpc, subnet = private_network()
    instance = resource(INSTANCE, "server", subnetId=UNKNOWN_STRING, deps={"subnetId": [subnet.urn]})
    endpoints = [endpoint(vpc, s) for s in ("ssm", "ssmmessages", "ec2messages")]
    assert check_stack("private-workloads-have-interface-endpoints", vpc, subnet, instance, *endpoints) == []


def test_a_gateway_endpoint_does_not_count_as_an_interface_endpoint():
    vpc, subnet = private_network()
    instance = resource(INSTANCE, "server", subnetId="subnet-a")
    endpoints = [endpoint(vpc, s, "Gateway") for s in ("ssm", "ssmmessages", "ec2messages")]
    assert len(check_stack("private-workloads-have-interface-endpoints", vpc, subnet, instance, *endpoints)) == 1


def test_an_instance_with_a_public_ip_needs_no_endpoints():
    vpc, subnet = private_network()
    instance = resource(INSTANCE, "bastion", subnetId="subnet-a", associatePublicIpAddress=True)
    assert check_stack("private-workloads-have-interface-endpoints", vpc, subnet, instance) == []


def test_required_endpoints_are_configurable():
    vpc, subnet = private_network()
    instance = resource(INSTANCE, "server", subnetId="subnet-a")
    config = {"requiredEndpoints": {INSTANCE: ["ec2"]}}
    assert check_stack("private-workloads-have-interface-endpoints", vpc, subnet, instance, config=config) == [
        ("vpc", "no interface VpcEndpoint in this VPC for ec2 (for server); allowed: one endpoint per listed "
                "service")]


# --- Through the pack ----------------------------------------------------------------------------

def test_the_pack_reports_network_findings_over_grpc(pack):
    open_group = as_recorded(SG, {"description": "web", "ingress": [
        permission(from_port=22, cidrs=["0.0.0.0/0"])]}, name="open")
    acl = as_recorded(NACL, {"vpcId": "vpc-1", "ingress": [acl_entry(100, protocol="-1", from_port=0, to_port=0)]},
                      name="acl")
    findings = pack.analyze([open_group, acl])
    by_policy = {(f.policy, f.urn.rsplit("::", 1)[-1]) for f in findings}
    assert {("no-world-ssh", "open"), ("security-group-attached", "open"),
            ("nacl-no-world-all-ports-ingress", "acl"), ("nacl-associated", "acl")} <= by_policy
    assert ("nacl-no-world-admin-ports", "acl") not in by_policy
    assert not any(policy == "no-world-http-except-load-balancers" for policy, _ in by_policy)
    assert not {("world-ingress-authorized-ports-only", "open"), ("no-world-high-risk-ports", "open")} & by_policy


def test_the_pack_leaves_an_all_ports_nacl_entry_to_the_admin_ports_policy_when_the_all_ports_one_is_disabled():
    acl = as_recorded(NACL, {"vpcId": "vpc-1", "ingress": [acl_entry(100, protocol="-1", from_port=0, to_port=0)]},
                      name="acl")
    with PackClient({"all": "mandatory", "nacl-no-world-all-ports-ingress": "disabled"}) as client:
        by_policy = {f.policy for f in client.analyze([acl])}
    assert "nacl-no-world-admin-ports" in by_policy and "nacl-no-world-all-ports-ingress" not in by_policy
