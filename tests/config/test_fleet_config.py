"""The ``fleet`` and ``loadBalancer`` sections: defaults, and what every refusal says."""

from __future__ import annotations

import json

import pytest

from components.config import ConfigError, load_stack_config

BASE = {"aws:region": "us-east-1"}
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0b5c3c9e-8a4d-4f59-9d55-3f2e8c1a7b10"
TOPIC = "arn:aws:sns:us-east-1:123456789012:fleet-alarms"


def load(overrides: dict[str, str]):
    return load_stack_config({**BASE, **overrides}, "dev")


def problems_of(overrides: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(overrides)
    return [str(p) for p in caught.value.problems]


def fleet(**values: object) -> dict[str, str]:
    return {f"aws-compute:fleet.{k}": v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


def balancer(**values: object) -> dict[str, str]:
    return {f"aws-compute:loadBalancer.{k}": v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


def test_the_fleet_defaults_scale_out_at_60_and_in_at_30_percent_cpu():
    settings = load({}).fleet
    assert (settings.scaling, settings.scale_out_cpu, settings.scale_in_cpu) == ("step", 60, 30)


def test_the_fleet_defaults_health_check_slash_health_on_port_8080():
    settings = load({}).fleet
    assert (settings.health_check_path, settings.service_port) == ("/health", 8080)


def test_the_load_balancer_defaults_to_a_tls13_policy_open_to_the_internet():
    settings = load({}).load_balancer
    assert settings.ssl_policy == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert settings.ingress_cidrs == ("0.0.0.0/0",)
    assert settings.serves_https is False


def test_a_certificate_in_the_stacks_region_turns_on_https():
    assert load(balancer(certificateArn=CERTIFICATE)).load_balancer.serves_https is True


def test_listing_instance_types_turns_on_the_mixed_instances_policy():
    settings = load(fleet(instanceTypes=["t3.small", "t3a.small"], onDemandPercentAboveBase=50)).fleet
    assert settings.mixed_instances is True
    assert settings.on_demand_percent_above_base == 50


def test_min_above_max_names_both_keys():
    (problem,) = problems_of(fleet(minSize=4, maxSize=2, desiredCapacity=2))
    assert problem.startswith("aws-compute:fleet.minSize = 4:")
    assert "aws-compute:fleet.maxSize (2)" in problem


# Each bad config: (overrides, the full key the message must name, a fragment of what is allowed).
BAD_CONFIGS = [
    (fleet(desiredCapacity=5, maxSize=3), "aws-compute:fleet.desiredCapacity", "minSize to maxSize"),
    (fleet(desiredCapacity=0, minSize=1), "aws-compute:fleet.desiredCapacity", "minSize to maxSize"),
    (fleet(maxSize=0), "aws-compute:fleet.maxSize", "from 1 to 1000"),
    (fleet(scaleInCpu=60, scaleOutCpu=60), "aws-compute:fleet.scaleInCpu", "scaleInCpu < scaleOutCpu"),
    (fleet(scaleOutCpu=101), "aws-compute:fleet.scaleOutCpu", "from 1 to 100"),
    (fleet(scaling="predictive"), "aws-compute:fleet.scaling", "step | target-tracking"),
    (fleet(targetCpu=95), "aws-compute:fleet.targetCpu", "from 10 to 90"),
    (fleet(healthCheckInterval=4), "aws-compute:fleet.healthCheckInterval", "from 5 to 300"),
    (fleet(healthCheckInterval=301), "aws-compute:fleet.healthCheckInterval", "from 5 to 300"),
    (fleet(healthCheckTimeout=1), "aws-compute:fleet.healthCheckTimeout", "from 2 to 120"),
    (fleet(healthCheckTimeout=10, healthCheckInterval=10), "aws-compute:fleet.healthCheckTimeout",
     "healthCheckTimeout < healthCheckInterval"),
    (fleet(healthyThreshold=1), "aws-compute:fleet.healthyThreshold", "from 2 to 10"),
    (fleet(unhealthyThreshold=11), "aws-compute:fleet.unhealthyThreshold", "from 2 to 10"),
    (fleet(deregistrationDelay=3601), "aws-compute:fleet.deregistrationDelay", "from 0 to 3600"),
    (fleet(healthCheckPath="health"), "aws-compute:fleet.healthCheckPath", "starting with /"),
    (fleet(servicePort=80), "aws-compute:fleet.servicePort", "from 1024 to 65535"),
    (fleet(instanceType="large"), "aws-compute:fleet.instanceType", "EC2 instance type"),
    (fleet(instanceTypes=["t3.small"]), "aws-compute:fleet.instanceTypes", "2 to 20"),
    (fleet(instanceTypes=["t3.small", "t3.small"]), "aws-compute:fleet.instanceTypes", "without repeats"),
    (fleet(onDemandPercentAboveBase=50), "aws-compute:fleet.onDemandPercentAboveBase", "list instanceTypes"),
    (fleet(onDemandBase=1), "aws-compute:fleet.onDemandBase", "list instanceTypes"),
    (fleet(instanceTypes=["t3.small", "t3a.small"], onDemandBase=4, maxSize=3), "aws-compute:fleet.onDemandBase",
     "0 to maxSize"),
    (fleet(onDemandPercentAboveBase=101), "aws-compute:fleet.onDemandPercentAboveBase", "from 0 to 100"),
    (fleet(spotAllocationStrategy="cheapest"), "aws-compute:fleet.spotAllocationStrategy", "price-capacity-optimized"),
    (fleet(listenerRulePriority=0), "aws-compute:fleet.listenerRulePriority", "from 1 to 50000"),
    (fleet(listenerRulePriority=50001), "aws-compute:fleet.listenerRulePriority", "from 1 to 50000"),
    (fleet(pathPatterns=[]), "aws-compute:fleet.pathPatterns", "1 to 5 paths"),
    (fleet(pathPatterns=["api/*"]), "aws-compute:fleet.pathPatterns", "starting with /"),
    (fleet(alarmTopicArn="my-topic"), "aws-compute:fleet.alarmTopicArn", "arn:aws:sns:"),
    (fleet(alarmTopicArn=TOPIC.replace("us-east-1", "eu-west-1")), "aws-compute:fleet.alarmTopicArn",
     "an SNS topic of us-east-1"),
    (fleet(amiId="ami-123"), "aws-compute:fleet.amiId", "an AMI ID"),
    (balancer(certificateArn="arn:aws:acm:us-east-1:123456789012:certificate/not-a-uuid"),
     "aws-compute:loadBalancer.certificateArn", "certificate/<uuid>"),
    (balancer(certificateArn="arn:aws:iam::123456789012:server-certificate/web"),
     "aws-compute:loadBalancer.certificateArn", "certificate/<uuid>"),
    (balancer(certificateArn=CERTIFICATE.replace("us-east-1", "eu-west-1")),
     "aws-compute:loadBalancer.certificateArn", "an ACM certificate of us-east-1"),
    (balancer(sslPolicy="ELBSecurityPolicy-2016-08"), "aws-compute:loadBalancer.sslPolicy",
     "ELBSecurityPolicy-TLS13-1-2-2021-06"),
    (balancer(desyncMitigationMode="monitor"), "aws-compute:loadBalancer.desyncMitigationMode",
     "defensive | strictest"),
    (balancer(ingressCidrs=[]), "aws-compute:loadBalancer.ingressCidrs", "1 to 50 IPv4 CIDRs"),
    (balancer(ingressCidrs=["203.0.113.1/24"]), "aws-compute:loadBalancer.ingressCidrs", "IPv4 CIDRs"),
    (balancer(idleTimeout=4001), "aws-compute:loadBalancer.idleTimeout", "from 1 to 4000"),
]


@pytest.mark.parametrize(("overrides", "key", "allowed"), BAD_CONFIGS,
                         ids=[f"{k.split(':')[1]}={next(iter(o.values()))[:24]}" for o, k, _ in BAD_CONFIGS])
def test_a_bad_value_is_refused_naming_its_key_and_what_is_allowed(overrides, key, allowed):
    problems = problems_of(overrides)
    matching = [p for p in problems if p.startswith(key + " = ")]
    assert matching, problems
    assert allowed in matching[0]


def test_an_unknown_fleet_key_suggests_the_closest_one():
    (problem,) = problems_of({"aws-compute:fleet.minsize": "1"})
    assert "did you mean aws-compute:fleet.minSize?" in problem


def test_target_tracking_does_not_need_ordered_step_thresholds():
    settings = load(fleet(scaling="target-tracking", scaleInCpu=70, scaleOutCpu=60)).fleet
    assert settings.scaling == "target-tracking"


def test_the_fleet_and_the_service_cannot_share_a_listener_rule_priority():
    problems = problems_of({**fleet(enabled=True, listenerRulePriority=10),
                            "aws-compute:service.enabled": "true", "aws-compute:service.imageTag": "0.1.0",
                            "aws-compute:service.listenerRulePriority": "10"})
    assert any(p.startswith("aws-compute:service.listenerRulePriority = 10:")
               and "aws-compute:fleet.listenerRulePriority" in p for p in problems), problems


def test_a_disabled_fleet_claims_no_listener_rule_priority():
    config = load({**fleet(listenerRulePriority=10), "aws-compute:service.enabled": "true",
                   "aws-compute:service.imageTag": "0.1.0", "aws-compute:service.listenerRulePriority": "10"})
    assert config.service.listener_rule_priority == config.fleet.listener_rule_priority
