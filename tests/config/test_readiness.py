"""This project's deploy prerequisites, read from the validated config (the preflight lists them)."""

from __future__ import annotations

from components.config import load_stack_config
from components.config.readiness import deploy_prerequisites


def prerequisites(**config: str) -> dict[str, dict[str, str]]:
    loaded = load_stack_config({"aws:region": "eu-west-1", **config}, "dev")
    return {entry["key"]: entry for entry in deploy_prerequisites(loaded)}


def test_a_reserved_concurrency_names_the_account_quota_it_needs():
    key = "aws-compute:function.reservedConcurrency"
    entry = prerequisites(**{"aws-compute:function.enabled": "true", key: "25"})[key]
    assert entry["value"] == "25"
    assert "at least 125 in eu-west-1" in entry["message"] and "get-account-settings" in entry["message"]


def test_no_reservation_needs_no_quota():
    assert "aws-compute:function.reservedConcurrency" not in prerequisites(**{"aws-compute:function.enabled": "true"})


def test_building_the_image_needs_docker_where_pulumi_up_runs():
    entry = prerequisites(**{"aws-compute:service.enabled": "true"})["aws-compute:service.build"]
    assert entry["value"] == "true" and "Docker" in entry["message"]


def test_a_tag_that_is_not_built_must_be_pushed_first():
    found = prerequisites(**{"aws-compute:service.enabled": "true", "aws-compute:service.build": "false",
                             "aws-compute:service.imageTag": "1.4.2"})
    assert "aws-compute:service.build" not in found
    assert "before `pulumi up`" in found["aws-compute:service.imageTag"]["message"]


def test_a_domain_needs_its_zone_delegated():
    key = "aws-compute:loadBalancer.hostedZoneId"
    entry = prerequisites(**{"aws-compute:fleet.enabled": "true", "aws-compute:loadBalancer.domainName": "app.my.io",
                             key: "Z0123456789"})[key]
    assert "dig NS app.my.io" in entry["message"]


def test_a_disabled_layer_asks_for_nothing():
    assert prerequisites() == {}
