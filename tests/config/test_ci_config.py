"""The ``ci`` section: off by default, and what every refusal says."""

from __future__ import annotations

import pytest

from components.config import ConfigError, load_stack_config

BASE = {"aws:region": "us-east-1"}


def problems_of(overrides: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config({**BASE, **overrides}, "dev")
    return [str(p) for p in caught.value.problems]


def test_no_ci_role_unless_a_repository_is_named():
    assert not load_stack_config(BASE, "dev").ci.enabled


def test_a_repository_written_owner_slash_name_turns_ci_on():
    config = load_stack_config({**BASE, "aws-compute:ci.githubRepository": "example-org/aws-compute"}, "dev")
    assert config.ci.enabled and config.ci.github_repository == "example-org/aws-compute"


@pytest.mark.parametrize("repository", ["example-org/*", "aws-compute", "example-org/aws-compute/extra",
                                        "-org/aws-compute", "example-org/aws compute"])
def test_a_repository_that_is_not_exactly_one_is_refused_naming_the_key(repository):
    [problem] = problems_of({"aws-compute:ci.githubRepository": repository})
    assert "aws-compute:ci.githubRepository" in problem and "owner/repository" in problem


@pytest.mark.parametrize("environment", ["prod:*", "pr*d", "a" * 256])
def test_an_environment_that_the_sub_claim_cannot_match_literally_is_refused(environment):
    [problem] = problems_of({"aws-compute:ci.githubEnvironment": environment})
    assert "aws-compute:ci.githubEnvironment" in problem


def test_an_existing_provider_must_be_githubs():
    [problem] = problems_of({"aws-compute:ci.oidcProviderArn":
                             "arn:aws:iam::123456789012:oidc-provider/gitlab.com"})
    assert "aws-compute:ci.oidcProviderArn" in problem and "token.actions.githubusercontent.com" in problem
