"""What the AWS account (and the deploying machine) must offer before this stack's `pulumi up` can work.

The preflight's generic readiness check finds documentation placeholders in any program's config; these are
this project's own prerequisites, read from the validated config. Each entry is {key, value, message}: the
config key that asks for it, its value, and what to check or do first.
"""

from __future__ import annotations

from .base import full_key
from .function import UNRESERVED_MINIMUM
from .stack import StackConfig


def deploy_prerequisites(config: StackConfig) -> list[dict[str, str]]:
    entries: list[dict[str, str]] = []

    def need(section: str, key: str, value: object, message: str) -> None:
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        entries.append({"key": full_key(section, key), "value": shown, "message": message})

    function, service, lb = config.function, config.service, config.load_balancer
    if function.enabled and function.reserved_concurrency >= 0:
        quota = function.reserved_concurrency + UNRESERVED_MINIMUM
        need("function", "reservedConcurrency", function.reserved_concurrency,
             f"needs a Lambda concurrency quota of at least {quota} in {config.region} (Lambda keeps "
             f"{UNRESERVED_MINIMUM} unreserved; new accounts often have 10 or 50): check `aws lambda "
             f"get-account-settings --region {config.region}` (AccountLimit.ConcurrentExecutions) and request "
             f"more in Service Quotas first, or set -1")
    if service.enabled and service.builds_image:
        need("service", "build", True,
             "`pulumi up` builds and pushes app/web's image: the deploying machine needs a running Docker engine "
             "(`docker info`) that can build linux/amd64 images")
    elif service.enabled and not service.image:
        need("service", "imageTag", service.image_tag,
             "the tag must already be in the stack's ECR repository before `pulumi up` (push it to "
             "repositoryUrl first), or the service never becomes steady and the deploy fails")
    if lb.domain_name and (config.fleet.enabled or service.enabled):
        need("loadBalancer", "hostedZoneId", lb.hosted_zone_id,
             f"must be the public hosted zone that the internet resolves {lb.domain_name} from (its NS records "
             f"delegated by the parent domain), else ACM's DNS validation never completes: check `dig NS "
             f"{lb.domain_name}`")
    return entries
