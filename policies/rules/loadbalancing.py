"""Load balancing policies: load balancers, listeners and target groups (catalog section D, rows L1-L13).

The same resources exist under two modules, ``aws.lb`` and its alias ``aws.alb``; both count (AWSGuard's
deletion-protection policy matches neither, only legacy type names). L14 (certificate expiry) needs the
ACM API and is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .base import (
    Resource,
    Stack,
    as_list,
    is_unknown,
    require_true,
    resource_rule,
    shown,
    stack_rule,
    unverifiable,
)
from .network import SUBNET, referenced, refers_to

LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LISTENER_RULES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
TARGET_GROUPS = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
WAF_ASSOCIATIONS = ("aws:wafv2/webAclAssociation:WebAclAssociation",
                    "aws:wafregional/webAclAssociation:WebAclAssociation")

# AWS Security Hub ELB.17: TLS 1.2 as the floor with forward secrecy (the loadBalancer config offers the same).
FSBP_SSL_POLICIES = [
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
]
PROVIDER_DEFAULT_SSL_POLICY = "ELBSecurityPolicy-2016-08"  # allows TLS 1.0


def member(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, Mapping) else None


def kind_of(load_balancer: Resource) -> str:
    """application, network or gateway; the provider's default is application."""
    return str(load_balancer.get("loadBalancerType") or "application").lower()


def protocol_of(resource: Resource) -> str:
    """A listener or target group's protocol, upper case; an ALB listener without one listens on HTTP."""
    protocol = resource.get("protocol")
    if is_unknown(protocol):
        return "UNKNOWN"
    return str(protocol).upper() if protocol is not None else ("HTTP" if resource.type in LISTENERS else "")


# --- listeners (L1-L3) -------------------------------------------------------------------------------------


def redirects_to_https(action: Any) -> bool:
    return member(action, "type") == "redirect" and str(member(member(action, "redirect"), "protocol")).upper() \
        == "HTTPS"


# The HTTP and the TCP/UDP halves are two policies because the tools' controls split there: Checkov's CKV_AWS_2,
# Trivy's AVD-AWS-0054, AWSGuard and FSBP ELB.1 judge HTTP listeners and pass TCP and UDP ones. FSBP ELB.18 judges
# both (any listener that is not HTTPS or TLS), so it is the tag of neither half. An unknown protocol is reported
# once, by the HTTP policy.
@resource_rule(
    name="lb-listener-no-plaintext",
    description="Ensure HTTP load balancer listeners only redirect clients to HTTPS.",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV2_AWS_20", "checkov:CKV_AWS_2", "fsbp:ELB.1", "awsguard:alb-http-to-https-redirection",
              "catalog:L1", "catalog:L2"],
    remediation="Set aws-compute:loadBalancer.certificateArn so the stack serves HTTPS, and give the port 80 "
                "listener the one default action aws.lb.ListenerDefaultActionArgs(type='redirect', redirect="
                "aws.lb.ListenerDefaultActionRedirectArgs(protocol='HTTPS', port='443', status_code='HTTP_301')).",
    types=LISTENERS,
)
def lb_listener_no_plaintext(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    protocol = protocol_of(resource)
    if protocol == "UNKNOWN":
        yield unverifiable("protocol")
    elif protocol == "HTTP":
        actions = as_list(resource.get("defaultActions"))
        if not actions:
            yield "protocol = 'HTTP' with no defaultActions; allowed: one redirect to HTTPS"
        for i, action in enumerate(actions):
            if is_unknown(action) or is_unknown(member(action, "type")):
                yield unverifiable(f"defaultActions[{i}]")
            elif not redirects_to_https(action):
                yield (f"protocol = 'HTTP' and defaultActions[{i}] is {shown(member(action, 'type'))} "
                       f"(redirect protocol {shown(member(member(action, 'redirect'), 'protocol'))}): it serves "
                       f"clients in clear text; allowed: a redirect to HTTPS")


@resource_rule(
    name="lb-listener-no-plaintext-tcp-udp",
    description="Ensure network load balancer listeners terminate TLS rather than pass plain TCP, UDP or TCP_UDP.",
    severity="high",
    enforcement="mandatory",
    controls=["catalog:L2"],
    remediation="Listen with protocol='TLS', a certificate_arn and an ssl_policy of the allowed list; where the "
                "targets terminate TLS themselves, waive this policy for that listener and say so.",
    types=LISTENERS,
)
def lb_listener_no_plaintext_tcp_udp(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    protocol = protocol_of(resource)
    if protocol in ("TCP", "UDP", "TCP_UDP"):
        yield f"protocol = {protocol!r} carries client traffic unencrypted; allowed: TLS"


@stack_rule(
    name="lb-http-listener-rules-redirect",
    description="Ensure listener rules on an HTTP listener only redirect to HTTPS, so that no path is served "
                "in clear text behind a redirecting default action.",
    severity="high",
    enforcement="mandatory",
    controls=["catalog:L1", "catalog:L2"],
    remediation="Attach forwarding aws.lb.ListenerRule resources to the HTTPS listener (listener_arn="
                "https_listener.arn); keep the HTTP listener to its redirect.",
)
def lb_http_listener_rules_redirect(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    http_listeners = [listener for listener in stack.of_type(*LISTENERS) if protocol_of(listener) == "HTTP"]
    for rule in stack.of_type(*LISTENER_RULES):
        listener = next((li for li in http_listeners if refers_to(rule, "listenerArn", li, "arn")), None)
        if listener is None:
            continue
        for i, action in enumerate(as_list(rule.get("actions"))):
            if is_unknown(action) or is_unknown(member(action, "type")):
                yield rule, unverifiable(f"actions[{i}]")
            elif not redirects_to_https(action):
                yield rule, (f"actions[{i}] is {shown(member(action, 'type'))} on HTTP listener {listener.name}: it "
                             f"serves clients in clear text; allowed: a redirect to HTTPS")


@resource_rule(
    name="lb-listener-tls-policy",
    description="Ensure HTTPS and TLS listeners negotiate with an allowed TLS policy (TLS 1.2+ with forward "
                "secrecy by default).",
    severity="high",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_103", "checkov:CKV2_AWS_74", "fsbp:ELB.17", "trivy:AVD-AWS-0047",
              "pulumi-crp:aws-lb-listener-configure-secure-tls", "catalog:L3"],
    remediation="Set ssl_policy='ELBSecurityPolicy-TLS13-1-2-2021-06' on the listener "
                "(aws-compute:loadBalancer.sslPolicy).",
    types=LISTENERS,
    config={"allowedSslPolicies": {"type": "array", "items": {"type": "string"}, "default": FSBP_SSL_POLICIES,
                                   "description": "ELB security policies HTTPS and TLS listeners may use."}},
)
def lb_listener_tls_policy(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    protocol = protocol_of(resource)
    if protocol not in ("HTTPS", "TLS"):
        return
    policy, allowed = resource.get("sslPolicy"), list(config["allowedSslPolicies"])
    if is_unknown(policy):
        yield unverifiable("sslPolicy")
    elif policy not in allowed:
        note = f" (the provider then uses {PROVIDER_DEFAULT_SSL_POLICY}, which allows TLS 1.0)" if policy is None \
            else ""
        yield f"sslPolicy = {shown(policy)}{note}; allowed: {', '.join(allowed)}"


# --- target groups (L4, L5) ------------------------------------------------------------------------------


def is_lambda_target(group: Resource) -> bool:
    return str(group.get("targetType") or "").lower() == "lambda"


@resource_rule(
    name="lb-target-group-encrypted",
    description="Ensure target groups do not send traffic to targets over plain HTTP.",
    severity="medium",
    enforcement="advisory",
    controls=["checkov:CKV_AWS_378", "fsbp:ELB.22", "catalog:L4"],
    remediation="Serve TLS on the targets (a self-signed certificate suffices: the load balancer does not "
                "validate it) and set protocol='HTTPS', port=443 with health_check protocol='HTTPS'.",
    types=TARGET_GROUPS,
)
def lb_target_group_encrypted(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if is_lambda_target(resource):
        return
    protocol = protocol_of(resource)
    if protocol == "UNKNOWN":
        yield unverifiable("protocol")
    elif protocol == "HTTP":
        yield "protocol = 'HTTP' sends requests to the targets in clear text; allowed: HTTPS (or TLS on a NLB)"


@resource_rule(
    name="lb-target-group-health-check",
    description="Ensure HTTP and HTTPS target groups declare an enabled health check with a path.",
    severity="low",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_261", "catalog:L5"],
    remediation="Pass health_check=aws.lb.TargetGroupHealthCheckArgs(enabled=True, path='/health', "
                "matcher='200', interval=15, healthy_threshold=2, unhealthy_threshold=3).",
    types=TARGET_GROUPS,
)
def lb_target_group_health_check(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if is_lambda_target(resource) or protocol_of(resource) not in ("HTTP", "HTTPS"):
        return
    check = resource.get("healthCheck")
    if is_unknown(check):
        yield unverifiable("healthCheck")
        return
    enabled, path = member(check, "enabled"), member(check, "path")
    if enabled is False or (isinstance(enabled, str) and enabled.lower() == "false"):
        yield "healthCheck.enabled = false; allowed: true"
    if is_unknown(path):
        yield unverifiable("healthCheck.path")
    elif not isinstance(path, str) or not path.startswith("/"):
        yield f"healthCheck.path = {shown(path)}; allowed: an explicit path such as '/health'"


# --- load balancer settings (L6-L9, L12, L13) ---------------------------------------------------------------


@resource_rule(
    name="lb-drop-invalid-headers",
    description="Ensure application load balancers drop HTTP headers with invalid fields.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_131", "fsbp:ELB.4", "trivy:AVD-AWS-0052", "catalog:L6"],
    remediation="Set drop_invalid_header_fields=True on the aws.lb.LoadBalancer.",
    types=LOAD_BALANCERS,
)
def lb_drop_invalid_headers(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if kind_of(resource) == "application":
        yield from require_true(resource.get("dropInvalidHeaderFields"), "dropInvalidHeaderFields")


@resource_rule(
    name="lb-access-logs",
    description="Ensure application and network load balancers deliver access logs to S3.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_91", "fsbp:ELB.5", "awsguard:elb-logging-enabled",
              "pulumi-crp:aws-lb-loadbalancer-enable-access-logging", "catalog:L7"],
    remediation="Set aws-compute:loadBalancer.accessLogs true, or access_logs=aws.lb.LoadBalancerAccessLogsArgs("
                "bucket=log_bucket.id, enabled=True) with a bucket policy for the ELB log delivery service.",
    types=LOAD_BALANCERS,
)
def lb_access_logs(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if kind_of(resource) == "gateway":
        return  # gateway load balancers have no access logs
    logs = resource.get("accessLogs")
    if is_unknown(logs):
        yield unverifiable("accessLogs")
        return
    yield from require_true(member(logs, "enabled"), "accessLogs.enabled")
    bucket = member(logs, "bucket")
    if member(logs, "enabled") is True and not is_unknown(bucket) and not (isinstance(bucket, str) and bucket):
        yield f"accessLogs.bucket = {shown(bucket)}; allowed: the name of the log bucket"


@resource_rule(
    name="lb-deletion-protection",
    description="Ensure load balancers (aws.lb and aws.alb) have deletion protection on.",
    severity="medium",
    enforcement="advisory",
    controls=["checkov:CKV_AWS_150", "fsbp:ELB.6", "awsguard:elb-deletion-protection-enabled", "catalog:L8"],
    remediation="Set aws-compute:loadBalancer.deletionProtection true (enable_deletion_protection=True); turn it "
                "off in a separate update before destroying the stack.",
    types=LOAD_BALANCERS,
)
def lb_deletion_protection(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    yield from require_true(resource.get("enableDeletionProtection"), "enableDeletionProtection")


@resource_rule(
    name="lb-desync-mitigation",
    description="Ensure application load balancers mitigate HTTP desync in defensive or strictest mode.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV_AWS_328", "fsbp:ELB.12", "catalog:L9"],
    remediation="Leave desync_mitigation_mode unset (defensive) or set it to 'strictest' "
                "(aws-compute:loadBalancer.desyncMitigationMode).",
    types=LOAD_BALANCERS,
    config={"allowedModes": {"type": "array", "items": {"enum": ["monitor", "defensive", "strictest"]},
                             "default": ["defensive", "strictest"],
                             "description": "Accepted desyncMitigationMode values."}},
)
def lb_desync_mitigation(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if kind_of(resource) != "application":
        return
    mode, allowed = resource.get("desyncMitigationMode"), list(config["allowedModes"])
    if is_unknown(mode):
        yield unverifiable("desyncMitigationMode")
    elif (mode or "defensive") not in allowed:  # the provider's default is defensive
        yield f"desyncMitigationMode = {shown(mode)}; allowed: {', '.join(allowed)}"


@resource_rule(
    name="lb-not-internet-facing",
    description="Ensure load balancers are internal; an internet-facing one is the stack's deliberate entry "
                "point and should carry a waiver that says so.",
    severity="high",
    enforcement="advisory",
    controls=["trivy:AVD-AWS-0053", "catalog:L12"],
    remediation="Set internal=True; for the one public entry point, add a waiver for this policy that names the "
                "load balancer and gives the reason.",
    types=LOAD_BALANCERS,
)
def lb_not_internet_facing(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    internal = resource.get("internal")
    if is_unknown(internal):
        yield unverifiable("internal")
    elif internal is not True:
        yield f"internal = {shown(internal)} makes the load balancer internet-facing; allowed: true"


@resource_rule(
    name="lb-cross-zone",
    description="Ensure network and gateway load balancers balance across zones (application ones always do).",
    severity="low",
    enforcement="advisory",
    controls=["checkov:CKV_AWS_152", "catalog:L13"],
    remediation="Set enable_cross_zone_load_balancing=True on the network or gateway load balancer.",
    types=LOAD_BALANCERS,
)
def lb_cross_zone(resource: Resource, config: Mapping[str, Any]) -> Iterable[str]:
    if kind_of(resource) in ("network", "gateway"):
        yield from require_true(resource.get("enableCrossZoneLoadBalancing"), "enableCrossZoneLoadBalancing")


# --- relations: zones and WAF (L10, L11) --------------------------------------------------------------------


def named_subnets(resource: Resource) -> list[Any]:
    """The subnet ids a load balancer or an Auto Scaling group lists (unknown during a preview)."""
    if resource.type in LOAD_BALANCERS:
        mappings = [member(m, "subnetId") for m in as_list(resource.get("subnetMappings"))]
        return [*as_list(resource.get("subnets")), *mappings]
    return as_list(resource.get("vpcZoneIdentifiers"))


UNKNOWN_LIST = 1_000
"""How many subnets or zones a list that is unknown as a whole may hold: more than any minimum."""


def spanned_zones(stack: Stack, resource: Resource) -> tuple[set[str], int]:
    """The availability zones of the subnets a load balancer or Auto Scaling group names, and how many of the
    named subnets have a zone not known offline (a subnet of another stack, or an unknown zone). A subnet
    lies in one zone, so the subnets span at most the known zones plus that many."""
    keys = ("subnets", "subnetMappings") if resource.type in LOAD_BALANCERS else ("vpcZoneIdentifiers",)
    subnets = {s.urn: s for key in keys for s in referenced(stack, resource, key, SUBNET)}
    names = [n for n in named_subnets(resource) if n is not None]
    mapped = {m for m in names if isinstance(m, str) and not is_unknown(m)}
    subnets.update({s.urn: s for s in stack.of_type(SUBNET) if isinstance(s.id, str) and s.id in mapped})
    # Each distinct id is one subnet; each unknown id may be another one.
    distinct = len({n for n in names if isinstance(n, str) and not is_unknown(n)}) + sum(map(is_unknown, names))
    undecided = max(0, distinct - len(subnets))
    if any(is_unknown(resource.get(key)) for key in keys):
        undecided += UNKNOWN_LIST  # the whole list is unknown during a preview: any number of subnets
    zones = set()
    for subnet in subnets.values():
        zone = subnet.get("availabilityZone") or subnet.get("availabilityZoneId")
        if isinstance(zone, str) and zone and not is_unknown(zone):
            zones.add(zone)
        else:
            undecided += 1
    return zones, undecided


def zone_verdict(zones: set[str], undecided: int, minimum: int, what: str, named: str) -> Iterator[str]:
    """Nothing when the zones reach ``minimum``; "cannot be verified" when the undecided subnets could reach
    it; otherwise the violation (one subnet is one zone, wherever it comes from)."""
    if len(zones) >= minimum:
        return
    if len(zones) + undecided >= minimum:
        yield unverifiable(f"the availability zones of the {what}'s subnets")
    elif undecided:
        listed = f" ({', '.join(sorted(zones))} and {undecided} more)" if zones else ""
        yield (f"{named} name {len(zones) + undecided} subnet(s) or zone(s){listed}, so they span at most "
               f"{len(zones) + undecided} availability zone(s); allowed: at least {minimum}")
    else:
        listed = ", ".join(sorted(zones)) or "none"
        yield f"{named} span {len(zones)} availability zone(s) ({listed}); allowed: at least {minimum}"


def zone_findings(stack: Stack, resource: Resource, minimum: int, what: str) -> Iterator[str]:
    zones, undecided = spanned_zones(stack, resource)
    yield from zone_verdict(zones, undecided, minimum, what, "its subnets")


MINIMUM_ZONES = {"minimumZones": {"type": "integer", "minimum": 1, "maximum": 6, "default": 2,
                                  "description": "Fewest availability zones the subnets must span."}}


@stack_rule(
    name="lb-multi-az",
    description="Ensure each load balancer's subnets span at least two availability zones.",
    severity="medium",
    enforcement="mandatory",
    controls=["fsbp:ELB.13", "catalog:L10"],
    remediation="Pass one subnet per availability zone: subnets=network.public_subnet_ids (aws-compute:"
                "network.azCount 2 or more).",
    config=MINIMUM_ZONES,
)
def lb_multi_az(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    for load_balancer in stack.of_type(*LOAD_BALANCERS):
        for message in zone_findings(stack, load_balancer, config["minimumZones"], "load balancer"):
            yield load_balancer, message


@stack_rule(
    name="lb-waf-attached",
    description="Ensure each internet-facing application load balancer has a WAF web ACL associated.",
    severity="medium",
    enforcement="mandatory",
    controls=["checkov:CKV2_AWS_28", "fsbp:ELB.16", "catalog:L11"],
    remediation="Create aws.wafv2.WebAcl(scope='REGIONAL', default_action=allow, rules=[AWS managed rule groups "
                "incl. AWSManagedRulesKnownBadInputsRuleSet]) and aws.wafv2.WebAclAssociation(resource_arn="
                "alb.arn, web_acl_arn=acl.arn).",
)
def lb_waf_attached(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    associations = stack.of_type(*WAF_ASSOCIATIONS)
    for load_balancer in stack.of_type(*LOAD_BALANCERS):
        if kind_of(load_balancer) != "application" or load_balancer.get("internal") is True:
            continue
        if not any(refers_to(a, "resourceArn", load_balancer, "arn") for a in associations):
            yield load_balancer, ("no aws:wafv2/webAclAssociation:WebAclAssociation names this internet-facing "
                                  "load balancer's ARN as resourceArn; allowed: a web ACL in front of it")
