"""The GitHub Actions workflows: actions pinned to released versions, and the preflight called as its CLI reads it.

actionlint (in `make lint`) checks their syntax, expressions and shell; these tests check what it cannot know.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from preflight.cli import parse_args

WORKFLOWS = sorted((Path(__file__).resolve().parent.parent / ".github" / "workflows").glob("*.yml"))
RELEASED = re.compile(r"^[\w.-]+/[\w./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$")


def steps(path: Path) -> list[dict]:
    workflow = yaml.safe_load(path.read_text())
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_there_are_the_preflight_and_deploy_workflows():
    assert {p.name for p in WORKFLOWS} == {"preflight.yml", "deploy.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_release_tag_or_a_full_commit(path):
    uses = [step["uses"] for step in steps(path) if "uses" in step]
    assert uses and [u for u in uses if not RELEASED.match(u)] == []


def test_the_preflight_workflow_passes_only_options_the_preflight_accepts():
    [command] = [step["run"] for step in steps(WORKFLOWS[-1]) if "-m preflight" in step.get("run", "")]
    line = command.replace("\\\n", " ").split("-m preflight", 1)[1].split("\n", 1)[0]
    words = shlex.split(line)
    args = parse_args([w.replace('"$STACK"', "dev").replace("$STACK", "dev") for w in words])
    assert args.stack == "dev"


def test_the_deploy_workflow_gets_aws_credentials_only_from_oidc():
    text = (WORKFLOWS[0]).read_text()
    assert "role-to-assume" in text and "id-token: write" in text
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text


def test_prod_is_deployed_only_through_its_github_environment_after_dev():
    jobs = yaml.safe_load(WORKFLOWS[0].read_text())["jobs"]
    assert jobs["up-prod"]["environment"] == "prod" and jobs["up-prod"]["needs"] == "up-dev"
