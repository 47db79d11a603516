"""No policy raises, whatever a preview sends: unknowns, secrets, wrong types, missing keys, huge lists.

Props are drawn from the property names the rules themselves read (so the generator reaches deep into
every check), filled with values of every kind. Each example goes through the real pack over gRPC: a
policy that raised would fail the Analyze call. A faster in-process pass runs many more examples
through every check directly.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.rules import RULES, Resource, Stack
from policies.rules.base import UNKNOWN_SENTINELS

from .pack_client import as_recorded

RULES_DIR = Path(__file__).resolve().parents[2] / "policies" / "rules"
SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}


def property_names() -> list[str]:
    """Every string constant in the rule modules that looks like a camelCase property name."""
    names = set()
    for path in RULES_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier() \
                    and node.value[:1].islower() and len(node.value) < 40:
                names.add(node.value)
    return sorted(names)


def type_tokens() -> set[str]:
    """Every type token the rule modules name, so that stack policies (which list no types) meet theirs too."""
    tokens = set()
    for path in RULES_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and TYPE_TOKEN.fullmatch(node.value):
                tokens.add(node.value)
    return tokens


TYPE_TOKEN = re.compile(r"aws:[A-Za-z0-9_]+/[A-Za-z0-9]+:[A-Za-z0-9]+")
NAMES = property_names()
TYPES = sorted({t for rule in RULES for t in rule.types} | type_tokens())

scalars = st.one_of(
    # No NaN or infinity: a protobuf Struct, as the engine sends, cannot hold them.
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30), st.sampled_from(sorted(UNKNOWN_SENTINELS)),
    st.sampled_from(["", "*", "0.0.0.0/0", "::/0", "-1", "tcp", "true", "arn:aws:iam::123456789012:root",
                     "{not json", "[]", '{"Statement": "*"}', "${unknown}"]),
)


def secret(value: st.SearchStrategy) -> st.SearchStrategy:
    return value.map(lambda v: {**SECRET_SIG, "value": v})


def json_documents(children: st.SearchStrategy) -> st.SearchStrategy:
    """Policy documents and container definitions arrive as JSON strings: fuzz their insides too."""
    return children.map(lambda v: json.dumps(v, default=str))


values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(NAMES), children, max_size=5),
        secret(children),
        json_documents(children),
    ),
    max_leaves=25,
)
huge_lists = st.builds(lambda v: [v] * 2000, scalars)
props = st.dictionaries(st.sampled_from(NAMES), st.one_of(values, huge_lists), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(type_=st.sampled_from(TYPES), props=props)
def test_no_policy_raises_on_a_resource_sent_through_the_pack(pack, type_, props):
    try:
        pack.analyze([as_recorded(type_, props, "fuzzed")], stack=True)
    except grpc.RpcError as error:  # a policy raised inside the pack
        raise AssertionError(f"{type_} {repr(props)[:500]}: {error.details()}") from None


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(resources=st.lists(st.tuples(st.sampled_from(TYPES), props), min_size=1, max_size=8))
def test_no_stack_policy_raises_on_a_stack_of_odd_resources_sent_through_the_pack(pack, resources):
    recorded = [as_recorded(type_, p, f"r{i}") for i, (type_, p) in enumerate(resources)]
    try:
        pack.analyze(recorded, stack=True)
    except grpc.RpcError as error:
        raise AssertionError(f"{repr(resources)[:500]}: {error.details()}") from None


def unwrap_secrets(value):
    """What the SDK hands a policy: secrets unwrapped to their values."""
    if isinstance(value, dict):
        if value.get(next(iter(SECRET_SIG))) == next(iter(SECRET_SIG.values())):
            return unwrap_secrets(value.get("value"))
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


@settings(max_examples=400, deadline=None)
@given(type_=st.sampled_from(TYPES), props=props)
def test_no_check_raises_when_called_directly(type_, props):
    resource = Resource(type_, unwrap_secrets(props), "fuzzed", f"urn:pulumi:t::p::{type_}::fuzzed")
    for rule in RULES:
        if rule.kind == "resource":
            rule.evaluate(resource)
        else:
            rule.evaluate_stack(Stack((resource,)))


def test_the_fuzzer_reaches_every_resource_type_and_many_property_names():
    assert len(TYPES) >= 40
    assert {"aws:s3/bucket:Bucket", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "aws:wafv2/webAcl:WebAcl"} <= set(TYPES)
    assert {"ingress", "cidrBlocks", "metadataOptions", "containerDefinitions", "policy"} <= set(NAMES)
