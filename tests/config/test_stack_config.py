"""The stack config: what is accepted, and what every refusal says."""

from __future__ import annotations

import json

import pytest

from components.config import ConfigError, load_stack_config

BASE = {"aws:region": "us-east-1"}


def load(**overrides: str):
    return load_stack_config({**BASE, **overrides}, "dev")


def problems_of(overrides: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config({**BASE, **overrides}, "dev")
    return [str(p) for p in caught.value.problems]


def test_an_empty_stack_config_gets_the_documented_defaults():
    config = load()
    assert (config.network.cidr, config.network.az_count, config.network.nat_gateways) == ("10.0.0.0/16", 2, "single")
    assert config.network.flow_logs is True
    assert config.environment == "dev"


def test_values_arrive_as_the_cli_marshals_them():
    config = load(**{"aws-compute:network.azCount": "3", "aws-compute:network.flowLogs": "false",
                     "aws-compute:network.interfaceEndpoints": json.dumps(["ssm", "logs"])})
    assert config.network.az_count == 3
    assert config.network.flow_logs is False
    assert config.network.interface_endpoints == ("ssm", "logs")


def test_extra_tags_become_a_map_beside_the_standard_ones():
    config = load(**{"aws-compute:tags": json.dumps(["CostCenter=42", "Team=platform"])})
    assert config.extra_tags == {"CostCenter": "42", "Team": "platform"}


def test_the_config_is_frozen():
    config = load()
    with pytest.raises(Exception, match="frozen"):
        config.network.az_count = 5  # type: ignore[misc]


# Each bad config: (overrides, the full key the message must name, a fragment of what is allowed).
BAD_CONFIGS = [
    ({"aws-compute:network.azCount": "1"}, "aws-compute:network.azCount", "from 2 to 6"),
    ({"aws-compute:network.azCount": "7"}, "aws-compute:network.azCount", "from 2 to 6"),
    ({"aws-compute:network.azCount": "two"}, "aws-compute:network.azCount", "from 2 to 6"),
    ({"aws-compute:network.azCount": "2.5"}, "aws-compute:network.azCount", "from 2 to 6"),
    ({"aws-compute:network.cidr": "10.0.0.0"}, "aws-compute:network.cidr", "private IPv4 CIDR"),
    ({"aws-compute:network.cidr": "10.0.0.1/16"}, "aws-compute:network.cidr", "private IPv4 CIDR"),
    ({"aws-compute:network.cidr": "8.8.0.0/16"}, "aws-compute:network.cidr", "private IPv4 CIDR"),
    ({"aws-compute:network.cidr": "10.0.0.0/8"}, "aws-compute:network.cidr", "/16 to /22"),
    ({"aws-compute:network.cidr": "10.0.0.0/24"}, "aws-compute:network.cidr", "/16 to /22"),
    ({"aws-compute:network.cidr": "fd00::/48"}, "aws-compute:network.cidr", "private IPv4 CIDR"),
    ({"aws-compute:network.natGateways": "two"}, "aws-compute:network.natGateways", "none | single | per-az"),
    ({"aws-compute:network.natGateways": "PER-AZ"}, "aws-compute:network.natGateways", "none | single | per-az"),
    ({"aws-compute:network.flowLogs": "maybe"}, "aws-compute:network.flowLogs", "true | false"),
    ({"aws-compute:network.flowLogRetentionDays": "45"}, "aws-compute:network.flowLogRetentionDays", "365"),
    ({"aws-compute:network.flowLogRetentionDays": "0"}, "aws-compute:network.flowLogRetentionDays", "365"),
    ({"aws-compute:network.flowLogTrafficType": "SOME"}, "aws-compute:network.flowLogTrafficType", "ALL"),
    ({"aws-compute:network.interfaceEndpoints": '["ssm","s3"]'}, "aws-compute:network.interfaceEndpoints[1]",
     "ecr.api"),
    ({"aws-compute:network.interfaceEndpoints": '["ssm","ssm"]'}, "aws-compute:network.interfaceEndpoints",
     "without repeats"),
    ({"aws-compute:network.interfaceEndpoints": "ssm"}, "aws-compute:network.interfaceEndpoints", "a list"),
    ({"aws-compute:environment": "qa"}, "aws-compute:environment", "dev | staging | prod"),
    ({"aws-compute:tags": '["CostCenter"]'}, "aws-compute:tags", "'Key=Value'"),
    ({"aws-compute:tags": '["aws:owner=me"]'}, "aws-compute:tags", "no 'aws:' prefix"),
    ({"aws-compute:tags": '["Environment=prod"]'}, "aws-compute:tags", "Project, Environment, ManagedBy"),
    ({"aws-compute:tags": '["A=1","A=2"]'}, "aws-compute:tags", "'Key=Value'"),
    ({"aws-compute:tags": json.dumps(["K=" + "v" * 257])}, "aws-compute:tags", "values up to 256"),
    ({"aws-compute:tags": '["K=<script>"]'}, "aws-compute:tags", "'Key=Value'"),
    ({"aws:region": "mars-1"}, "aws:region", "a region such as us-east-1"),
]


@pytest.mark.parametrize(("overrides", "key", "allowed"), BAD_CONFIGS, ids=[f"{k}={next(iter(o.values()))[:20]}"
                                                                          for o, k, _ in BAD_CONFIGS])
def test_a_bad_value_is_refused_naming_its_key_and_what_is_allowed(overrides, key, allowed):
    problems = problems_of(overrides)
    matching = [p for p in problems if p.startswith(key + " = ")]
    assert matching, problems
    assert allowed in matching[0]


def test_the_message_shows_the_bad_value():
    (problem,) = problems_of({"aws-compute:network.azCount": "9"})
    assert "= 9:" in problem


def test_a_missing_region_is_refused_with_the_command_that_sets_it():
    with pytest.raises(ConfigError) as caught:
        load_stack_config({}, "dev")
    assert "aws:region = (missing)" in str(caught.value)
    assert "pulumi config set aws:region" in str(caught.value)


def test_an_unknown_key_is_refused_with_the_closest_valid_name():
    (problem,) = problems_of({"aws-compute:network.azcount": "3"})
    assert problem.startswith("aws-compute:network.azcount")
    assert "did you mean aws-compute:network.azCount?" in problem


def test_an_unknown_section_is_refused_with_the_closest_valid_key():
    (problem,) = problems_of({"aws-compute:netwrk.cidr": "10.0.0.0/16"})
    assert "did you mean aws-compute:network.cidr?" in problem


def test_an_unknown_root_key_is_refused_with_the_closest_valid_name():
    (problem,) = problems_of({"aws-compute:enviroment": "dev"})
    assert "did you mean aws-compute:environment?" in problem


def test_keys_of_other_namespaces_are_left_to_their_owners():
    config = load(**{"aws:skipCredentialsValidation": "true", "other:thing": "x"})
    assert config.region == "us-east-1"


def test_every_problem_is_reported_at_once():
    problems = problems_of({"aws-compute:network.azCount": "9", "aws-compute:network.cidr": "1.2.3.4/16",
                            "aws-compute:environment": "qa", "aws-compute:bogus": "1"})
    assert len(problems) == 4


def test_the_rendered_error_counts_the_problems_and_lists_one_per_line():
    with pytest.raises(ConfigError) as caught:
        load(**{"aws-compute:network.azCount": "9", "aws-compute:environment": "qa"})
    lines = str(caught.value).splitlines()
    assert lines[0] == "invalid stack configuration (2 problems):"
    assert all(line.startswith("  - aws-compute:") for line in lines[1:])


def test_more_azs_than_the_region_offers_is_refused_naming_the_key():
    config = load(**{"aws-compute:network.azCount": "4"})
    with pytest.raises(ConfigError, match=r"aws-compute:network.azCount = 4: region us-east-1 has only 3 AZs"):
        config.check_zones(["us-east-1a", "us-east-1b", "us-east-1c"])
