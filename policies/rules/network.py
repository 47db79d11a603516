"""Network policies: security groups and their rules, network ACLs, the default VPC, subnets, flow logs
and interface endpoints.

Catalog section A, rows N1-N18 (N19 and N20 need a live account). A security group permission can be
declared three ways (inline on ``ec2.SecurityGroup``, ``ec2.SecurityGroupRule``, and the
``vpc.SecurityGroup{Ingress,Egress}Rule`` resources); every rule here reads all of them through
``permissions_of``, so no shape slips past. Per the catalog's list of the anchors' mistakes: a rule's
``self = true`` or source group never excuses a world-open CIDR beside it, protocol ``-1``/``all`` opens
every port whatever the port fields say, and ``::/0`` is the world as much as ``0.0.0.0/0``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .base import (
    Resource,
    Stack,
    as_list,
    config_of,
    indexed,
    is_enabled,
    is_unknown,
    resource_rule,
    stack_rule,
    unverifiable,
)

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
STANDALONE_RULE_TYPES = (SECURITY_GROUP_RULE, INGRESS_RULE, EGRESS_RULE)
INGRESS_TYPES = (SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE)
EGRESS_TYPES = (SECURITY_GROUP, SECURITY_GROUP_RULE, EGRESS_RULE)
NETWORK_ACL = "aws:ec2/networkAcl:NetworkAcl"
DEFAULT_NETWORK_ACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"
NETWORK_ACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
NETWORK_ACL_ASSOCIATION = "aws:ec2/networkAclAssociation:NetworkAclAssociation"
VPC = "aws:ec2/vpc:Vpc"
DEFAULT_VPC = "aws:ec2/defaultVpc:DefaultVpc"
DEFAULT_SUBNET = "aws:ec2/defaultSubnet:DefaultSubnet"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SUBNET = "aws:ec2/subnet:Subnet"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
INSTANCE = "aws:ec2/instance:Instance"
AUTOSCALING_GROUP = "aws:autoscaling/group:Group"
ECS_SERVICE = "aws:ecs/service:Service"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
ALL_PROTOCOLS = ("-1", "all")
TCP = ("tcp", "6")
UDP = ("udp", "17")
HIGHEST_PORT = 65535
PROVIDER_DEFAULT_DESCRIPTIONS = ("Managed by Pulumi", "Managed by Terraform")

PORT_LIST = {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": HIGHEST_PORT},
             "uniqueItems": True}


# --- Permissions: one rule and one CIDR, whichever resource declared it -----------------------------

@dataclass(frozen=True)
class Permission:
    """One security group permission for one CIDR, with the property path that declares it."""

    protocol: str
    from_port: int | None
    to_port: int | None
    cidr: Any
    """A CIDR string, or an unknown sentinel during preview."""
    path: str

    def covers_port(self, port: int, protocols: tuple[str, ...] = TCP) -> bool:
        if self.protocol in ALL_PROTOCOLS:
            return True  # protocol -1 opens every port whatever fromPort/toPort say
        if self.protocol not in protocols or self.from_port is None or self.to_port is None:
            return False
        return self.from_port <= port <= self.to_port

    def covers_tcp_port(self, port: int) -> bool:
        return self.covers_port(port, TCP)

    @property
    def all_ports(self) -> bool:
        if self.protocol in ALL_PROTOCOLS:
            return True
        return self.from_port is not None and self.to_port is not None and \
            self.from_port <= 0 and self.to_port >= HIGHEST_PORT

    @property
    def is_world(self) -> bool:
        return isinstance(self.cidr, str) and is_world(self.cidr)

    @property
    def unknown_cidr(self) -> bool:
        return is_unknown(self.cidr)

    def describe(self) -> str:
        if self.protocol in ALL_PROTOCOLS:
            return "all protocols and ports"
        return f"{self.protocol} {self.from_port}-{self.to_port}"


def _port(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def port_set(values: Any) -> set[int]:
    """A config list of ports as integers (JSON numbers may arrive as floats: 443.0)."""
    return {port for port in map(_port, as_list(values)) if port is not None}


def _protocol(value: Any) -> str:
    return str(value).lower() if value is not None else ""


def permissions_of(resource: Resource, direction: str) -> Iterator[Permission]:
    """Every (rule, CIDR) pair of one direction ("ingress" or "egress") that the resource declares."""
    if resource.type == SECURITY_GROUP:
        for i, rule in indexed(resource.get(direction)):
            if isinstance(rule, Mapping):
                yield from _cidr_permissions(rule, f"{direction}[{i}]")
    elif resource.type == SECURITY_GROUP_RULE and resource.get("type") == direction:
        yield from _cidr_permissions(resource.props, "")
    elif (resource.type, direction) in ((INGRESS_RULE, "ingress"), (EGRESS_RULE, "egress")):
        protocol = _protocol(resource.get("ipProtocol"))
        for key in ("cidrIpv4", "cidrIpv6"):
            cidr = resource.get(key)
            if isinstance(cidr, str):
                yield Permission(protocol, _port(resource.get("fromPort")), _port(resource.get("toPort")), cidr, key)


def ingress_of(resource: Resource) -> Iterator[Permission]:
    return permissions_of(resource, "ingress")


def _cidr_permissions(rule: Mapping[str, Any], prefix: str) -> Iterator[Permission]:
    protocol = _protocol(rule.get("protocol"))
    low, high = _port(rule.get("fromPort")), _port(rule.get("toPort"))
    for key in ("cidrBlocks", "ipv6CidrBlocks"):
        for j, cidr in indexed(rule.get(key)):
            if isinstance(cidr, str):
                path = f"{prefix}.{key}[{j}]" if prefix else f"{key}[{j}]"
                yield Permission(protocol, low, high, cidr, path)


def is_world(cidr: str) -> bool:
    """0.0.0.0/0 and ::/0, however written: any prefix of length zero is the whole internet."""
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False


def world_owner(ingress: Permission) -> str | None:
    """One defect, one finding: the policy that reports an ingress from the whole internet when several would.
    The most precise name wins: all ports, then SSH, then RDP, then the high-risk ports (as
    no-world-high-risk-ports is configured); world-ingress-authorized-ports-only reports the rest. A disabled
    policy owns nothing, so the next one reports. None when none of the named policies applies."""
    if not ingress.is_world:
        return None
    if ingress.all_ports and is_enabled("no-world-all-ports-ingress"):
        return "no-world-all-ports-ingress"
    for port, service in ((22, "no-world-ssh"), (3389, "no-world-rdp")):
        if ingress.covers_tcp_port(port) and is_enabled(service):
            return service
    if is_enabled("no-world-high-risk-ports") and _high_risk_ports_exposed(
            ingress, config_of("no-world-high-risk-ports")):
        return "no-world-high-risk-ports"
    return None


def _high_risk_ports_exposed(ingress: Permission, config: Mapping[str, Any]) -> list[int]:
    return [port for port in sorted(port_set(config.get("highRiskPorts"))) if ingress.covers_port(port, TCP + UDP)]


def _world_port_findings(resource: Resource, port: int, service: str) -> Iterator[str]:
    policy = {22: "no-world-ssh", 3389: "no-world-rdp"}[port]
    for ingress in ingress_of(resource):
        if not ingress.covers_tcp_port(port):
            continue
        if ingress.is_world:
            if world_owner(ingress) != policy:
                continue
            yield (f"{ingress.path} = {ingress.cidr} admits {service} (tcp {port}) from the whole internet "
                   f"through a rule for {ingress.describe()}; allowed: specific source CIDRs or security groups")
        elif ingress.unknown_cidr:
            yield unverifiable(ingress.path)


# --- Relations between resources, by id or by the URNs of property dependencies -------------------

def known_ids(resource: Resource, *keys: str) -> set[str]:
    """The resource's id and the other given outputs that name it, leaving out unknowns, which during a
    preview are one shared sentinel and so would match every other unknown."""
    values = [resource.id, *(resource.get(key) for key in keys)]
    return {v for v in values if isinstance(v, str) and v and not is_unknown(v)}


def refers_to(resource: Resource, key: str, target: Resource, *id_keys: str) -> bool:
    """Whether ``resource.<key>`` (a value or a list) names ``target``: by a known id (or one of the
    target's ``id_keys`` outputs, such as its ARN), or because the engine reports that property as
    depending on ``target``'s URN. For many lookups, build ``References`` once instead."""
    if target.urn and target.urn in resource.property_dependencies.get(key, ()):
        return True
    ids = known_ids(target, *id_keys)
    return any(isinstance(value, str) and value in ids for value in as_list(resource.get(key)))


def referenced(stack: Stack, resource: Resource, key: str, *types: str) -> list[Resource]:
    """The stack's resources of the given types that ``resource.<key>`` names (see ``refers_to``)."""
    references = stack.memo(("references", types), lambda: References(stack.of_type(*types)))
    return references.named_by(resource, key)


class References:
    """Some of the stack's resources, each found in one lookup by its URN or a known id (or another output
    that names it, such as its ARN), so that relations stay fast in stacks of thousands of resources."""

    def __init__(self, resources: Iterable[Resource], *id_keys: str):
        self._by_name: dict[str, Resource] = {}
        for resource in resources:
            for name in (resource.urn, *known_ids(resource, *id_keys)):
                if name:
                    self._by_name.setdefault(name, resource)

    def named(self, names: Iterable[Any]) -> list[Resource]:
        found: list[Resource] = []
        for name in names:
            target = self._by_name.get(name) if isinstance(name, str) else None
            if target is not None and all(target is not other for other in found):
                found.append(target)
        return found

    def named_by(self, resource: Resource, key: str, value: Any = None) -> list[Resource]:
        """The resources that ``resource.<key>`` (or the given value found under that key) names: by a
        known id, or because the engine reports the property as depending on their URNs."""
        values = as_list(resource.get(key) if value is None else value)
        return self.named([*resource.property_dependencies.get(key, ()), *values])


def _security_group_values(value: Any, under_security_group_key: bool = False) -> Iterator[str]:
    """The strings found under keys that name security groups (vpcSecurityGroupIds, securityGroups,
    networkConfiguration.securityGroups, ...), at any depth."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _security_group_values(item, "securitygroup" in str(key).lower())
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _security_group_values(item, under_security_group_key)
    elif under_security_group_key and isinstance(value, str):
        yield value


def security_group_users(stack: Stack) -> dict[str, list[Resource]]:
    """Per security group URN, the resources that use it: instances, launch templates, load balancers,
    services, functions, endpoints, ENIs, databases, ... Any type counts (Checkov's fixed list of
    attaching types is the cause of its CKV2_AWS_5 false positives); rules that merely name a group as
    their source do not. Built in one pass, so large stacks stay fast."""
    group_of: dict[str, str] = {}
    for group in stack.of_type(SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
        group_of.update({key: group.urn for key in (group.urn, *known_ids(group))})
    users: dict[str, list[Resource]] = {}
    for resource in stack.resources:
        if resource.type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP, *STANDALONE_RULE_TYPES):
            continue
        named = {urn for urns in resource.property_dependencies.values() for urn in urns}
        named.update(_security_group_values(resource.props))
        for group_urn in {group_of[name] for name in named if name in group_of}:
            users.setdefault(group_urn, []).append(resource)
    return users


def _has_text(value: Any) -> bool:
    """Set to something: a non-blank string, or a value only known after the update."""
    return is_unknown(value) or (isinstance(value, str) and bool(value.strip()))


# --- Security groups: what the world may reach --------------------------------------------------

@resource_rule(
    name="no-world-ssh",
    description="Ensure no security group admits SSH (tcp 22) from 0.0.0.0/0 or ::/0.",
    severity="critical",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_24", "fsbp:EC2.13", "catalog:N1"],
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
    controls=["checkov:CKV_AWS_25", "fsbp:EC2.14", "catalog:N2"],
    remediation="Restrict the rule's cidr_blocks to the admins' networks, or reach Windows hosts through "
                "SSM Session Manager port forwarding instead of an open RDP port.",
    types=INGRESS_TYPES,
)
def no_world_rdp(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    return _world_port_findings(resource, 3389, "RDP")


ADMIN_PORTS = {22: "SSH", 3389: "RDP"}


def _too_broad(cidr: str, config: Mapping[str, Any]) -> str | None:
    """Why an admin source is not acceptable, or None: broader than the minimum prefix of its IP version,
    or outside every allowed range when the config lists some."""
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return None
    minimum = config["minimumIpv4Prefix"] if network.version == 4 else config["minimumIpv6Prefix"]
    if network.prefixlen < minimum:
        return f"a /{network.prefixlen} is broader than /{minimum}"
    allowed = [ipaddress.ip_network(c, strict=False) for c in config["allowedSourceCidrs"]
               if _is_network(c)]
    if allowed and not any(network.version == a.version and network.subnet_of(a) for a in allowed):
        return f"it is outside the allowed sources {config['allowedSourceCidrs']}"
    return None


def _is_network(value: Any) -> bool:
    try:
        ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        return False
    return True


@resource_rule(
    name="admin-ports-from-narrow-sources",
    description="Ensure SSH (tcp 22) and RDP (tcp 3389) are admitted only from narrow address ranges (a host "
                "or a small office range), and only from the allowed sources when the config lists them.",
    severity="high",
    enforcement="mandatory",
    controls=["catalog:N1", "catalog:N2"],
    remediation="Admit the admins' own addresses (aws-compute:server.sshCidrs, e.g. 203.0.113.10/32), or drop "
                "the rule and reach the instance with SSM Session Manager instead.",
    types=INGRESS_TYPES,
    config={
        "minimumIpv4Prefix": {"type": "integer", "minimum": 1, "maximum": 32, "default": 24,
                              "description": "the broadest IPv4 source allowed: /24 by default"},
        "minimumIpv6Prefix": {"type": "integer", "minimum": 1, "maximum": 128, "default": 56,
                              "description": "the broadest IPv6 source allowed: /56 by default"},
        "allowedSourceCidrs": {"type": "array", "items": {"type": "string"}, "default": [],
                               "description": "when not empty, every admin source must lie in one of these"},
    },
)
def admin_ports_from_narrow_sources(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    for ingress in ingress_of(resource):
        for port, service in ADMIN_PORTS.items():
            if not ingress.covers_tcp_port(port) or ingress.is_world or not isinstance(ingress.cidr, str):
                continue  # the world is no-world-ssh's and no-world-rdp's finding
            why = _too_broad(ingress.cidr, config)
            if why:
                yield (f"{ingress.path} = {ingress.cidr} admits {service} (tcp {port}), and {why}; allowed: "
                       f"hosts or ranges of at least /{config['minimumIpv4Prefix']} (IPv4) or "
                       f"/{config['minimumIpv6Prefix']} (IPv6)")


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
        if not ingress.all_ports:
            continue
        if ingress.is_world:
            yield (f"{ingress.path} = {ingress.cidr} admits {ingress.describe()} from the whole internet; "
                   f"allowed: single ports or narrow ranges")
        elif ingress.unknown_cidr:
            yield unverifiable(ingress.path)


def _is_authorized(permission: Permission, tcp_ports: set[int], udp_ports: set[int]) -> bool:
    """Whether every port the permission opens is on the allow-list of its protocol."""
    if permission.protocol in TCP:
        allowed = tcp_ports
    elif permission.protocol in UDP:
        allowed = udp_ports
    else:
        return False  # all protocols, ICMP and the rest have no port to authorize
    low, high = permission.from_port, permission.to_port
    if low is None or high is None or high - low + 1 > len(allowed):
        return False
    return all(port in allowed for port in range(low, high + 1))


@resource_rule(
    name="world-ingress-authorized-ports-only",
    description="Ensure security groups admit traffic from 0.0.0.0/0 or ::/0 only on authorized ports "
                "(by default tcp 80 and 443).",
    severity="high",
    enforcement="mandatory",
    controls=["fsbp:EC2.18", "catalog:N4"],
    remediation="Narrow the rule's cidr_blocks to known networks or reference the client's security group "
                "(source_security_group_id=...); if the port really must face the internet, add it to this "
                "policy's authorizedTcpPorts in policies/config/<env>.json.",
    types=INGRESS_TYPES,
    config={
        "authorizedTcpPorts": {**PORT_LIST, "default": [80, 443],
                               "description": "TCP ports that may be open to the whole internet."},
        "authorizedUdpPorts": {**PORT_LIST, "default": [],
                               "description": "UDP ports that may be open to the whole internet."},
    },
)
def world_ingress_authorized_ports(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    tcp_ports, udp_ports = port_set(config.get("authorizedTcpPorts")), port_set(config.get("authorizedUdpPorts"))
    for ingress in ingress_of(resource):
        if _is_authorized(ingress, tcp_ports, udp_ports) or world_owner(ingress):
            continue
        if ingress.is_world:
            yield (f"{ingress.path} = {ingress.cidr} admits {ingress.describe()} from the whole internet; "
                   f"allowed from the world: tcp {sorted(tcp_ports)}, udp {sorted(udp_ports)}")
        elif ingress.unknown_cidr:
            yield unverifiable(ingress.path)


# Steampipe's list for FSBP EC2.19: file transfer, telnet, mail, Windows RPC/SMB, databases, Kibana,
# Elasticsearch and the usual alternative HTTP port.
HIGH_RISK_PORTS = [20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3306, 3389, 4333, 5432, 5500, 5601,
                   8080, 9200, 9300]


@resource_rule(
    name="no-world-high-risk-ports",
    description="Ensure no security group admits traffic from 0.0.0.0/0 or ::/0 to a high-risk port "
                "(FTP, SSH, telnet, SMTP, POP3, RPC, IMAP, SMB, SQL Server, MySQL, PostgreSQL, "
                "Elasticsearch, ...).",
    severity="high",
    enforcement="mandatory",
    controls=["fsbp:EC2.19", "catalog:N5"],
    remediation="Admit these ports only from the security group of the client that needs them, e.g. "
                "aws.vpc.SecurityGroupIngressRule(referenced_security_group_id=app_sg.id, ip_protocol='tcp', "
                "from_port=5432, to_port=5432, ...).",
    types=INGRESS_TYPES,
    config={"highRiskPorts": {**PORT_LIST, "default": HIGH_RISK_PORTS,
                              "description": "TCP and UDP ports that must never be open to the whole internet."}},
)
def no_world_high_risk_ports(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    for ingress in ingress_of(resource):
        exposed = _high_risk_ports_exposed(ingress, config)
        if not exposed or world_owner(ingress) not in (None, "no-world-high-risk-ports"):
            continue
        if ingress.is_world:
            yield (f"{ingress.path} = {ingress.cidr} admits high-risk port(s) {exposed} from the whole internet "
                   f"through a rule for {ingress.describe()}; allowed: specific source CIDRs or security groups")
        elif ingress.unknown_cidr:
            yield unverifiable(ingress.path)


def _http_from_world_or_unknown(resource: Resource) -> Iterator[Permission]:
    return (p for p in ingress_of(resource) if (p.is_world or p.unknown_cidr) and p.covers_tcp_port(80))


def security_groups(stack: Stack) -> References:
    return References(stack.of_type(SECURITY_GROUP, DEFAULT_SECURITY_GROUP))


def _group_of_rule(groups: References, rule: Resource) -> Resource | None:
    named = groups.named_by(rule, "securityGroupId")
    return named[0] if named else None


def _serves_load_balancers_only(users: dict[str, list[Resource]], group: Resource | None) -> bool:
    used_by = users.get(group.urn, []) if group is not None else []
    return bool(used_by) and all(user.type in LOAD_BALANCERS for user in used_by)


@stack_rule(
    name="no-world-http-except-load-balancers",
    description="Ensure plain HTTP (tcp 80) is open to 0.0.0.0/0 or ::/0 only on security groups that "
                "serve load balancers alone (which redirect it to HTTPS), never on instances or tasks.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_260", "pulumi-crp:aws-ec2-securitygroup-disallow-inbound-http-traffic",
              "catalog:N6"],
    remediation="Let targets admit port 80 only from the load balancer's security group "
                "(aws.vpc.SecurityGroupIngressRule(referenced_security_group_id=alb_sg.id, ...)) and give the "
                "load balancer an HTTP listener that redirects to HTTPS.",
    config={"allowOnLoadBalancers": {
        "type": "boolean", "default": True,
        "description": "Let security groups used only by load balancers admit HTTP from the world."}},
)
def no_world_http(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    allow_on_load_balancers = config.get("allowOnLoadBalancers") is True
    users, groups = security_group_users(stack), security_groups(stack)
    for resource in stack.of_type(*INGRESS_TYPES):
        group = resource if resource.type == SECURITY_GROUP else _group_of_rule(groups, resource)
        if allow_on_load_balancers and _serves_load_balancers_only(users, group):
            continue
        allowed = "only on a security group used by load balancers alone" if allow_on_load_balancers else "none"
        for ingress in _http_from_world_or_unknown(resource):
            if ingress.unknown_cidr:
                yield resource, unverifiable(ingress.path)
            else:
                yield resource, (f"{ingress.path} = {ingress.cidr} admits HTTP (tcp 80) from the whole internet "
                                 f"through a rule for {ingress.describe()}; allowed: {allowed}")


@resource_rule(
    name="no-unrestricted-egress",
    description="Ensure no security group sends all protocols or all ports to 0.0.0.0/0 or ::/0.",
    severity="high",
    enforcement="advisory",
    controls=["checkov:CKV_AWS_382", "trivy:AVD-AWS-0104", "catalog:N7"],
    remediation="Name the ports the workload calls out on, e.g. aws.ec2.SecurityGroupEgressArgs(protocol='tcp', "
                "from_port=443, to_port=443, cidr_blocks=['0.0.0.0/0']), and reach AWS services through VPC "
                "endpoints (aws-compute:network.interfaceEndpoints).",
    types=EGRESS_TYPES,
    config={"strict": {"type": "boolean", "default": False,
                       "description": "Also refuse egress to the world on specific ports (Trivy's reading)."}},
)
def no_unrestricted_egress(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    strict = config.get("strict") is True
    for egress in permissions_of(resource, "egress"):
        if not (strict or egress.all_ports):
            continue
        if egress.is_world:
            allowed = "no egress to the world" if strict else "specific ports or narrower destinations"
            yield f"{egress.path} = {egress.cidr} sends {egress.describe()} to the whole internet; allowed: {allowed}"
        elif egress.unknown_cidr:
            yield unverifiable(egress.path)


# --- Security groups: hygiene and Pulumi correctness --------------------------------------------

def _description_finding(value: Any, path: str) -> str | None:
    if value is None:
        default = "; the provider fills in 'Managed by Pulumi'" if path == "description" else ""
        return f"{path} is not set{default}; allowed: a sentence saying what the traffic is for"
    if not _has_text(value) or value in PROVIDER_DEFAULT_DESCRIPTIONS:
        return f"{path} = {value!r}; allowed: a sentence saying what the traffic is for"
    return None


@resource_rule(
    name="security-group-descriptions",
    description="Ensure every security group and every one of its rules has a meaningful description.",
    severity="low",
    enforcement="advisory",
    controls=["checkov:CKV_AWS_23", "trivy:AVD-AWS-0099", "trivy:AVD-AWS-0124",
              "pulumi-crp:aws-ec2-securitygroup-missing-description",
              "pulumi-crp:aws-ec2-securitygroup-missing-ingress-rule-description",
              "pulumi-crp:aws-ec2-securitygroup-missing-egress-rule-description", "catalog:N8"],
    remediation="Pass description='HTTPS from the load balancer' (or similar) to the security group and to each "
                "SecurityGroupIngressArgs / SecurityGroupEgressArgs / rule resource.",
    types=(SECURITY_GROUP, *STANDALONE_RULE_TYPES),
)
def security_group_descriptions(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    paths = [("description", resource.get("description"))]
    if resource.type == SECURITY_GROUP:
        paths += [(f"{direction}[{i}].description", rule.get("description"))
                  for direction in ("ingress", "egress")
                  for i, rule in indexed(resource.get(direction)) if isinstance(rule, Mapping)]
    for path, value in paths:
        finding = _description_finding(value, path)
        if finding:
            yield finding


def _direction_of(rule: Resource) -> str:
    if rule.type == SECURITY_GROUP_RULE:
        return str(rule.get("type"))
    return "ingress" if rule.type == INGRESS_RULE else "egress"


PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}


def _signature(protocol: Any, from_port: Any, to_port: Any) -> tuple[Any, ...]:
    """What AWS keys a permission by: protocol and port range (no ports for all protocols)."""
    name = PROTOCOL_NAMES.get(_protocol(protocol), _protocol(protocol))
    return (name,) if name == "-1" else (name, _port(from_port), _port(to_port))


def _rule_signature(rule: Resource) -> tuple[Any, ...]:
    protocol = rule.get("protocol") if rule.type == SECURITY_GROUP_RULE else rule.get("ipProtocol")
    return _signature(protocol, rule.get("fromPort"), rule.get("toPort"))


def _has_inline_rules(group: Resource, direction: str, separate: list[Resource]) -> bool:
    """Whether the group declares rules of the direction itself. Stack policies see outputs, and once
    deployed a group's ingress/egress outputs list the separate rules' permissions too; so an entry counts
    as inline only when no separate rule of the same protocol and ports explains it. An empty or unknown
    list is no evidence either way. The default security group owns both directions always."""
    if group.type == DEFAULT_SECURITY_GROUP:
        return True
    explained = {_rule_signature(rule) for rule in separate}
    return any(_signature(entry.get("protocol"), entry.get("fromPort"), entry.get("toPort")) not in explained
               for entry in as_list(group.get(direction)) if isinstance(entry, Mapping))


@stack_rule(
    name="security-group-rules-managed-one-way",
    description="Ensure no security group is given both inline rules and separate rule resources for the same "
                "direction; the provider would delete the separate rules on every update.",
    severity="medium",
    enforcement="mandatory",
    controls=["awsguard:security-group-no-rule-management-conflicts", "catalog:N9"],
    remediation="Declare the group's rules either all inline (ingress=[...]/egress=[...]) or all as "
                "aws.vpc.SecurityGroupIngressRule / SecurityGroupEgressRule resources, not both.",
)
def security_group_rules_managed_one_way(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    groups = security_groups(stack)
    separate: dict[tuple[str, int], tuple[Resource, list[Resource]]] = {}  # (direction, group) -> its rules
    for rule in stack.of_type(*STANDALONE_RULE_TYPES):
        group, direction = _group_of_rule(groups, rule), _direction_of(rule)
        if group is not None and direction in ("ingress", "egress"):
            separate.setdefault((direction, id(group)), (group, []))[1].append(rule)
    for (direction, _), (group, rules) in separate.items():
        if not _has_inline_rules(group, direction, rules):
            continue
        for rule in rules:
            yield rule, (f"securityGroupId names {group.type.rsplit(':', 1)[-1]} '{group.name}', which manages its "
                         f"{direction} rules inline; allowed: inline rules or rule resources, not both")


@stack_rule(
    name="security-group-attached",
    description="Ensure every security group is used by something: an instance, launch template, load "
                "balancer, service, function, endpoint or network interface.",
    severity="low",
    enforcement="advisory",
    controls=["checkov:CKV2_AWS_5", "fsbp:EC2.22", "catalog:N11"],
    remediation="Pass the group's id to the resource it protects (vpc_security_group_ids=[sg.id], "
                "security_groups=[sg.id], ...) or delete the group.",
)
def security_group_attached(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    users = security_group_users(stack)
    for group in stack.of_type(SECURITY_GROUP):
        if group.urn not in users:
            yield group, "no resource in the stack uses this security group; allowed: groups that protect something"


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


@resource_rule(
    name="no-default-vpc",
    description="Ensure the stack neither manages nor uses the account's default VPC or its default subnets.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_148", "trivy:AVD-AWS-0101", "catalog:N13"],
    remediation="Remove aws.ec2.DefaultVpc / DefaultSubnet and put workloads in the stack's own VPC "
                "(the Network component's vpc_id and subnet ids).",
    types=[DEFAULT_VPC, DEFAULT_SUBNET],
)
def no_default_vpc(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    kind = "default VPC" if resource.type == DEFAULT_VPC else "default subnet"
    yield f"{resource.type} adopts the account's {kind}; allowed: a VPC that the stack creates"


# --- Network ACLs -------------------------------------------------------------------------------

@dataclass(frozen=True)
class AclEntry(Permission):
    """One network ACL entry, inline or a separate NetworkAclRule. NACLs are stateless and are read in
    rule-number order: the first entry that matches a packet decides."""

    allow: bool = True
    number: int | None = None

    def covers_port(self, port: int, protocols: tuple[str, ...] = TCP + UDP) -> bool:
        return super().covers_port(port, protocols)

    @property
    def version(self) -> int | None:
        try:
            return ipaddress.ip_network(str(self.cidr).strip(), strict=False).version
        except ValueError:
            return None


def acl_ingress_entries(resource: Resource) -> list[AclEntry]:
    """The inbound entries a NACL resource declares (NACL protocols are names or numbers; "6" is TCP)."""
    if resource.type in (NETWORK_ACL, DEFAULT_NETWORK_ACL):
        return [entry for i, rule in indexed(resource.get("ingress")) if isinstance(rule, Mapping)
                for entry in _acl_entries(rule, f"ingress[{i}].", rule.get("action"), rule.get("ruleNo"))]
    if resource.type == NETWORK_ACL_RULE and resource.get("egress") is not True:
        return list(_acl_entries(resource.props, "", resource.get("ruleAction"), resource.get("ruleNumber")))
    return []


def _acl_entries(rule: Mapping[str, Any], prefix: str, action: Any, number: Any) -> Iterator[AclEntry]:
    for key in ("cidrBlock", "ipv6CidrBlock"):
        cidr = rule.get(key)
        if isinstance(cidr, str) and cidr:
            yield AclEntry(_protocol(rule.get("protocol")), _port(rule.get("fromPort")), _port(rule.get("toPort")),
                           cidr, prefix + key, allow=_protocol(action) == "allow", number=_port(number))


def _shadowed(entry: AclEntry, entries: list[AclEntry], port: int | None) -> bool:
    """Whether a lower-numbered world deny of the same IP version decides first for the port (or, with
    no port, for every port the entry opens)."""
    if entry.number is None:
        return False
    return any(not other.allow and other.is_world and other.version == entry.version
               and other.number is not None and other.number < entry.number
               and (other.covers_port(port) if port is not None else other.all_ports)
               for other in entries)


@resource_rule(
    name="nacl-no-world-admin-ports",
    description="Ensure no network ACL allows inbound traffic from 0.0.0.0/0 or ::/0 to remote "
                "administration ports (by default FTP 20-21, SSH 22, RDP 3389).",
    severity="medium",
    enforcement="mandatory",
    controls=["catalog:N15"],
    remediation="Give the entry a specific cidr_block (the admins' network), or put a lower-numbered deny "
                "entry for the port from 0.0.0.0/0 in front of it.",
    types=[NETWORK_ACL, DEFAULT_NETWORK_ACL, NETWORK_ACL_RULE],
    config={"adminPorts": {**PORT_LIST, "default": [20, 21, 22, 3389],
                           "description": "Ports that no NACL may open to the whole internet."}},
)
def nacl_no_world_admin_ports(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    entries = acl_ingress_entries(resource)
    for entry in entries:
        if not (entry.allow and entry.is_world):
            continue
        if entry.all_ports and is_enabled("nacl-no-world-all-ports-ingress") \
                and not _shadowed(entry, entries, None):
            continue  # one defect, one finding: nacl-no-world-all-ports-ingress reports this entry
        exposed = [port for port in sorted(port_set(config.get("adminPorts")))
                   if entry.covers_port(port) and not _shadowed(entry, entries, port)]
        if exposed:
            yield (f"{entry.path} = {entry.cidr} allows admin port(s) {exposed} from the whole internet through "
                   f"an entry for {entry.describe()}; allowed: specific source networks")


@resource_rule(
    name="nacl-no-world-all-ports-ingress",
    description="Ensure no network ACL allows inbound traffic on all ports or all protocols from 0.0.0.0/0 "
                "or ::/0.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_352", "trivy:AVD-AWS-0102", "catalog:N16"],
    remediation="Allow the ports the subnet serves (e.g. protocol='tcp', from_port=443, to_port=443) and the "
                "ephemeral range 1024-65535 for return traffic, instead of protocol='-1'.",
    types=[NETWORK_ACL, DEFAULT_NETWORK_ACL, NETWORK_ACL_RULE],
)
def nacl_no_world_all_ports(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    entries = acl_ingress_entries(resource)
    for entry in entries:
        if entry.allow and entry.is_world and entry.all_ports and not _shadowed(entry, entries, None):
            yield (f"{entry.path} = {entry.cidr} allows {entry.describe()} from the whole internet; "
                   f"allowed: explicit ports")


def _names_subnets(acl: Resource) -> bool:
    """Stack policies see outputs: during a preview an ACL created without subnets has an unknown subnetIds
    (AWS fills it in), which counts only when the engine says it was computed from other resources."""
    subnets = acl.get("subnetIds")
    if is_unknown(subnets):
        return bool(acl.property_dependencies.get("subnetIds"))
    return bool(as_list(subnets))


@stack_rule(
    name="nacl-associated",
    description="Ensure every network ACL is associated with at least one subnet.",
    severity="low",
    enforcement="advisory",
    controls=["checkov:CKV2_AWS_1", "fsbp:EC2.16", "catalog:N17"],
    remediation="Pass subnet_ids=[...] to the NetworkAcl or add aws.ec2.NetworkAclAssociation(network_acl_id=..., "
                "subnet_id=...); delete ACLs that guard nothing.",
)
def nacl_associated(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    acls = References(stack.of_type(NETWORK_ACL))
    associated = {id(acl) for association in stack.of_type(NETWORK_ACL_ASSOCIATION)
                  for acl in acls.named_by(association, "networkAclId")}
    for acl in stack.of_type(NETWORK_ACL):
        if _names_subnets(acl) or id(acl) in associated:
            continue
        yield acl, "subnetIds is empty and no NetworkAclAssociation names this ACL; allowed: at least one subnet"


# --- Interface endpoints for private workloads --------------------------------------------------

SSM_ENDPOINTS = ["ssm", "ssmmessages", "ec2messages"]
REQUIRED_ENDPOINTS = {
    INSTANCE: SSM_ENDPOINTS,
    AUTOSCALING_GROUP: SSM_ENDPOINTS,
    ECS_SERVICE: ["ecr.api", "ecr.dkr"],
}
SUBNETS_KEY = {INSTANCE: "subnetId", AUTOSCALING_GROUP: "vpcZoneIdentifiers", ECS_SERVICE: "networkConfiguration"}


def _is_private_workload(workload: Resource) -> bool:
    if workload.type == INSTANCE:
        return workload.get("associatePublicIpAddress") is not True
    if workload.type == ECS_SERVICE:
        network = workload.get("networkConfiguration")
        return not (isinstance(network, Mapping) and network.get("assignPublicIp") is True)
    return True


def _subnets_of(subnets: References, workload: Resource) -> list[Resource]:
    key = SUBNETS_KEY.get(workload.type, "")
    value = workload.get(key)
    return subnets.named_by(workload, key, value.get("subnets") if isinstance(value, Mapping) else None)


def _interface_services(stack: Stack, vpcs: References) -> dict[int, set[str]]:
    """Per VPC, the services (the part after the region: 'ssm', 'ecr.api', ...) it has interface endpoints for."""
    services: dict[int, set[str]] = {}
    for endpoint in stack.of_type(VPC_ENDPOINT):
        name = endpoint.get("serviceName")
        if str(endpoint.get("vpcEndpointType", "")).lower() != "interface" or not isinstance(name, str) \
                or not name.startswith("com.amazonaws."):
            continue
        for vpc in vpcs.named_by(endpoint, "vpcId"):
            services.setdefault(id(vpc), set()).add(name.split(".", 3)[-1])
    return services


@stack_rule(
    name="private-workloads-have-interface-endpoints",
    description="Ensure a VPC with private workloads has the interface endpoints they need: SSM for instances "
                "and Auto Scaling groups, ECR for ECS services.",
    severity="medium",
    enforcement="advisory",
    controls=["fsbp:EC2.55", "fsbp:EC2.56", "fsbp:EC2.57", "catalog:N18"],
    remediation="List the services in aws-compute:network.interfaceEndpoints (e.g. ssm, ssmmessages, ec2messages, "
                "ecr.api, ecr.dkr), or add aws.ec2.VpcEndpoint(vpc_endpoint_type='Interface', "
                "service_name=f'com.amazonaws.{region}.ssm', private_dns_enabled=True, ...).",
    config={"requiredEndpoints": {
        "type": "object", "propertyNames": {"enum": list(SUBNETS_KEY)},
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "default": REQUIRED_ENDPOINTS,
        "description": "Per workload type token, the interface endpoint services its VPC must have "
                       "(add 'ec2' for FSBP EC2.10)."}},
)
def private_workloads_have_endpoints(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    required = config.get("requiredEndpoints")
    required = required if isinstance(required, Mapping) else {}
    subnets, vpcs = References(stack.of_type(SUBNET)), References(stack.of_type(VPC))
    needs: dict[int, dict[str, list[str]]] = {}  # VPC -> service -> the workloads that need it
    for workload in stack.of_type(*required):
        if not _is_private_workload(workload):
            continue
        for subnet in _subnets_of(subnets, workload):
            for vpc in vpcs.named_by(subnet, "vpcId"):
                for service in as_list(required.get(workload.type)):
                    users = needs.setdefault(id(vpc), {}).setdefault(str(service), [])
                    if workload.name not in users:
                        users.append(workload.name)
    present = _interface_services(stack, vpcs)
    for vpc in stack.of_type(VPC):
        missing = {s: users for s, users in needs.get(id(vpc), {}).items() if s not in present.get(id(vpc), set())}
        if missing:
            detail = "; ".join(f"{service} (for {', '.join(users)})" for service, users in sorted(missing.items()))
            yield vpc, f"no interface VpcEndpoint in this VPC for {detail}; allowed: one endpoint per listed service"
