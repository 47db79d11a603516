"""The ``ci`` section: the role GitHub Actions assumes to deploy this stack, through GitHub's OIDC provider.

Off until ``ci.githubRepository`` is set. The role trusts one repository's workflows, and only the jobs
that run in one GitHub environment (the stack's environment unless ``ci.githubEnvironment`` says
otherwise), so a pull request from a branch cannot deploy unless that environment lets it.
"""

from __future__ import annotations

import re

from pydantic import field_validator

from .base import Section, setting

# GitHub: owner names are letters, digits and single hyphens (at most 39); repository names letters,
# digits, '.', '-' and '_' (at most 100). No wildcard: the trust must name one repository.
_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}/[A-Za-z0-9._-]{1,100}$")
# The environment name is matched literally in the token's sub claim (repo:o/r:environment:<name>), so it
# may hold no ':' (the claim's separator) and no '*' or '?' (which StringLike would read as wildcards).
_ENVIRONMENT = re.compile(r"^[A-Za-z0-9 ._-]{1,255}$")
_OIDC_PROVIDER_ARN = re.compile(r"^arn:aws[-a-z]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$")


class CiSettings(Section):
    github_repository: str = setting(
        "", "GitHub repository whose Actions workflows deploy this stack; empty creates no CI role.",
        "empty, or owner/repository (no wildcards)",
    )
    github_environment: str = setting(
        "", "GitHub environment the deploying jobs run in; empty means the stack's environment (dev, prod, ...).",
        "empty, or 1-255 letters, digits, spaces, '.', '_' and '-'",
    )
    oidc_provider_arn: str = setting(
        "", "GitHub's OIDC provider if the account has one already (an account holds one per URL); "
            "empty creates it.",
        "empty, or arn:aws:iam::<12-digit account>:oidc-provider/token.actions.githubusercontent.com",
    )

    @property
    def enabled(self) -> bool:
        return bool(self.github_repository)

    @field_validator("github_repository")
    @classmethod
    def _one_repository(cls, value: str) -> str:
        if value and not _REPOSITORY.match(value):
            raise ValueError("not a GitHub repository written owner/repository")
        return value

    @field_validator("github_environment")
    @classmethod
    def _literal_environment(cls, value: str) -> str:
        if value and not _ENVIRONMENT.match(value):
            raise ValueError("not a GitHub environment name usable in a token's sub claim")
        return value

    @field_validator("oidc_provider_arn")
    @classmethod
    def _github_provider(cls, value: str) -> str:
        if value and not _OIDC_PROVIDER_ARN.match(value):
            raise ValueError("not the ARN of GitHub's OIDC provider (token.actions.githubusercontent.com)")
        return value
