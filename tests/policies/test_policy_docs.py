"""policies/README.md's table is generated from the pack's metadata and the per-environment config files."""

from __future__ import annotations

from policies import docs
from policies.rules import RULES
from policies.rules.base import Rule


def test_the_policy_table_is_current():
    readme = (docs.PACK_DIR / "README.md").read_text()
    assert docs.readme_with_table(readme) == readme, "policies/README.md is stale: run `make docs`"


def test_the_table_lists_every_policy_once():
    table = docs.policy_table()
    for rule in RULES:
        assert table.count(f"| `{rule.name}`") == 1, rule.name


def a_rule(enforcement: str = "mandatory") -> Rule:
    return Rule("r", "d", "high", enforcement, (), "fix", lambda *_: [])


def test_the_level_in_an_environment_starts_from_the_policy_default():
    assert docs.level_in(a_rule("advisory"), {}) == "advisory"


def test_the_level_in_an_environment_applies_all_then_the_policy_entry():
    assert docs.level_in(a_rule(), {"all": "advisory"}) == "advisory"
    assert docs.level_in(a_rule(), {"all": "advisory", "r": "mandatory"}) == "mandatory"
    assert docs.level_in(a_rule(), {"all": "advisory", "r": {"enforcementLevel": "disabled"}}) == "disabled"


def test_catalog_rows_are_listed_in_catalog_order():
    rules = [Rule("a", "d", "low", "advisory", ("catalog:N10", "catalog:C2"), "", lambda *_: []),
             Rule("b", "d", "low", "advisory", ("catalog:N2", "checkov:CKV_AWS_1"), "", lambda *_: [])]
    assert docs.catalog_rows(rules) == ["C2", "N2", "N10"]


def test_every_environment_keeps_critical_policies_mandatory():
    configs = docs.environment_configs()
    for rule in RULES:
        if rule.severity == "critical":
            for env, config in configs.items():
                assert docs.level_in(rule, config) == "mandatory", (rule.name, env)
