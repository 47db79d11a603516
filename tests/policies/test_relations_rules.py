"""Relations across resources: targets behind a load balancer, and which API may invoke a function."""

from __future__ import annotations

from policies.rules import Resource, Stack, rule_named
from policies.rules.base import UNKNOWN_SENTINELS
from policies.rules.relations import Index, targets_behind_load_balancers

from .pack_client import as_recorded

UNKNOWN = next(iter(UNKNOWN_SENTINELS))
TARGETS = rule_named("lb-targets-admit-only-load-balancer")
PERMISSION = rule_named("lambda-permission-scoped-to-stack-api")


def resource(type_: str, name: str, depends: dict | None = None, **props) -> Resource:
    return Resource(type_, props, name, f"urn:pulumi:t::p::{type_}::{name}", property_dependencies=depends or {})


def group(name: str, ingress: list[dict]) -> Resource:
    return resource("aws:ec2/securityGroup:SecurityGroup", name, id=f"sg-{name}", ingress=ingress)


FROM_ALB = {"protocol": "tcp", "fromPort": 8080, "toPort": 8080, "securityGroups": ["sg-alb"]}
FROM_WORLD = {"protocol": "tcp", "fromPort": 8080, "toPort": 8080, "cidrBlocks": ["0.0.0.0/0"]}


def fleet(ingress: list[dict]) -> Stack:
    return Stack((
        group("alb", [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}]),
        group("instances", ingress),
        resource("aws:ec2/launchTemplate:LaunchTemplate", "lt", id="lt-1", vpcSecurityGroupIds=["sg-instances"]),
        resource("aws:autoscaling/group:Group", "asg", id="asg", launchTemplate={"id": "lt-1"},
                 targetGroupArns=["arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/1"]),
    ))


def messages(rule, stack: Stack) -> list[str]:
    return [message for _, message in rule.evaluate_stack(stack)]


def test_an_auto_scaling_group_whose_instances_admit_only_the_alb_passes():
    assert messages(TARGETS, fleet([FROM_ALB])) == []


def test_an_auto_scaling_group_whose_instances_admit_a_cidr_is_refused():
    [message] = messages(TARGETS, fleet([FROM_ALB, FROM_WORLD]))
    assert "security group instances: ingress[1].cidrBlocks[0] = 0.0.0.0/0" in message


def test_a_vpc_cidr_on_a_target_also_bypasses_the_load_balancer():
    private = {**FROM_WORLD, "cidrBlocks": ["10.0.0.0/16"]}
    assert len(messages(TARGETS, fleet([private]))) == 1


def test_a_standalone_ingress_rule_on_the_target_group_counts():
    stack = fleet([FROM_ALB])
    rule = resource("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "extra",
                    securityGroupId="sg-instances", ipProtocol="tcp", fromPort=22, toPort=22, cidrIpv4="203.0.113.0/24")
    [message] = messages(TARGETS, Stack((*stack.resources, rule)))
    assert "extra.cidrIpv4 = 203.0.113.0/24" in message


def test_an_auto_scaling_group_not_behind_a_load_balancer_is_not_judged():
    stack = fleet([FROM_WORLD])
    asg = resource("aws:autoscaling/group:Group", "asg", id="asg", launchTemplate={"id": "lt-1"})
    assert messages(TARGETS, Stack((*stack.resources[:3], asg))) == []


def test_an_ecs_service_behind_a_load_balancer_with_a_cidr_ingress_is_refused():
    service = resource("aws:ecs/service:Service", "svc", loadBalancers=[{"targetGroupArn": "tg"}],
                       networkConfiguration={"securityGroups": ["sg-tasks"], "assignPublicIp": False})
    stack = Stack((group("tasks", [FROM_WORLD]), service))
    [(target, _)] = TARGETS.evaluate_stack(stack)
    assert target.name == "svc"


def test_an_instance_attached_to_a_target_group_is_judged_by_its_groups():
    instance = resource("aws:ec2/instance:Instance", "web", id="i-1", vpcSecurityGroupIds=["sg-web"])
    attachment = resource("aws:lb/targetGroupAttachment:TargetGroupAttachment", "att", targetId="i-1")
    assert len(messages(TARGETS, Stack((group("web", [FROM_WORLD]), instance, attachment)))) == 1
    assert messages(TARGETS, Stack((group("web", [FROM_ALB]), instance, attachment))) == []


def test_unknown_security_groups_of_a_service_without_dependencies_cannot_be_verified():
    service = resource("aws:ecs/service:Service", "svc", loadBalancers=[{"targetGroupArn": "tg"}],
                       networkConfiguration={"securityGroups": [UNKNOWN]})
    [message] = messages(TARGETS, Stack((service,)))
    assert "cannot be verified during preview" in message


API = resource("aws:apigatewayv2/api:Api", "api", id="a1b2c3")


def permission(**props) -> Resource:
    return resource("aws:lambda/permission:Permission", "allow-api", principal="apigateway.amazonaws.com",
                    action="lambda:InvokeFunction", function="fn", **props)


def test_a_permission_scoped_to_the_stacks_api_passes():
    allowed = permission(sourceArn="arn:aws:execute-api:us-east-1:123456789012:a1b2c3/*/*")
    assert messages(PERMISSION, Stack((API, allowed))) == []


def test_a_permission_for_another_api_is_refused():
    other = permission(sourceArn="arn:aws:execute-api:us-east-1:123456789012:zzz999/*/*")
    [message] = messages(PERMISSION, Stack((API, other)))
    assert "names no API of this stack" in message and "zzz999" in message


def test_a_permission_without_source_arn_is_left_to_lambda_permission_source_scoped():
    # One defect, one finding: lambda-permission-source-scoped reports the missing sourceArn.
    assert messages(PERMISSION, Stack((API, permission()))) == []
    assert messages(PERMISSION, Stack((API, permission(sourceArn="arn:aws:execute-api:*:*:*")))) == []


def test_an_unknown_source_arn_that_depends_on_the_stacks_api_passes():
    pending = resource("aws:lambda/permission:Permission", "allow-api", {"sourceArn": (API.urn,)},
                       principal="apigateway.amazonaws.com", sourceArn=UNKNOWN)
    assert messages(PERMISSION, Stack((API, pending))) == []


def test_permissions_for_other_principals_are_not_judged_here():
    s3 = resource("aws:lambda/permission:Permission", "s3", principal="s3.amazonaws.com")
    assert messages(PERMISSION, Stack((API, s3))) == []


def test_the_pack_reports_a_target_open_to_a_cidr_on_the_target(pack):
    stack = fleet([FROM_WORLD])
    recorded = [as_recorded(r.type, dict(r.props), r.name, id=r.props.get("id", f"{r.name}-id"))
                for r in stack.resources]
    findings = [f for f in pack.analyze(recorded) if f.policy == TARGETS.name]
    assert [f.urn.rsplit("::", 1)[1] for f in findings] == ["asg"]


def test_the_projects_stacks_keep_targets_behind_the_load_balancer(dev_stack, prod_stack):
    for recording in (dev_stack, prod_stack):
        stack = Stack(tuple(Resource(r.type, r.outputs, r.name, r.urn,
                                     property_dependencies={k: tuple(v) for k, v in r.property_dependencies.items()})
                            for r in recording.resources))
        assert list(targets_behind_load_balancers(stack, Index(stack))), "the stack has targets behind its ALB"
        assert TARGETS.evaluate_stack(stack) == []
        assert PERMISSION.evaluate_stack(stack) == []
