"""IAM document analysis: parsing every form a document takes, IAM's matching rules, and the action table."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from policies.rules.base import UNKNOWN_SENTINELS
from policies.rules.iam_documents import (
    ACTION_TABLE,
    CREDENTIALS_EXPOSURE,
    DATA_EXFILTRATION,
    PERMISSIONS_MANAGEMENT,
    PRIVILEGE_ESCALATION,
    STAR_ONLY_ACTIONS,
    Condition,
    is_account_root,
    is_star_only,
    is_unconstrained_resource,
    may_match_write,
    pattern_matches,
    patterns_overlap,
    read_document,
)

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
assert UNKNOWN in UNKNOWN_SENTINELS
ACTION_NAME = re.compile(r"[a-z0-9-]+:(?:[A-Za-z0-9]+\*?|\*)")


def doc(*statements, as_json=True):
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    return json.dumps(document) if as_json else document


def allow(action="s3:GetObject", resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def parsed(value):
    reading = read_document(value)
    assert reading.status == "parsed", reading.problem
    return reading.best


# --- Reading documents ----------------------------------------------------------------------------

def test_a_json_string_and_a_dict_read_the_same():
    assert parsed(doc(allow())) == parsed(doc(allow(), as_json=False))


def test_a_single_statement_object_reads_like_a_list_of_one():
    single = json.dumps({"Version": "2012-10-17", "Statement": allow()})
    assert parsed(single) == parsed(doc(allow()))


def test_single_strings_and_lists_of_actions_and_resources_read_the_same():
    one = parsed(doc(allow("s3:GetObject", "arn:aws:s3:::b/*"))).statements[0]
    listed = parsed(doc(allow(["s3:GetObject"], ["arn:aws:s3:::b/*"]))).statements[0]
    assert (one.actions, one.resources) == (listed.actions, listed.resources)


def test_a_missing_document_grants_nothing():
    assert read_document(None).status == "absent"
    assert read_document("").status == "absent"


def test_an_unknown_document_is_unknown_and_its_worst_case_allows_everything():
    reading = read_document(UNKNOWN)
    assert reading.status == "unknown"
    assert reading.worst.statements[0].covers_all_of("*") and reading.worst.statements[0].on_every_resource
    assert reading.best.statements == ()


def test_a_secret_wrapped_document_is_read_through_its_wrapper():
    wrapped = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": doc(allow())}
    assert read_document(wrapped).status == "parsed"


def test_malformed_documents_are_invalid_with_a_reason():
    cases = {
        "{not json": "not valid JSON",
        "[1, 2]": "JSON object",
        '{"Version": "2012-10-17"}': "no Statement",
        '{"Statement": "*"}': "neither an object nor a list",
        '{"Statement": [{"Effect": "Permit", "Action": "*"}]}': "Effect",
        '{"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "s3:*"}]}': "both Action and NotAction",
        '{"Statement": [{"Effect": "Allow", "Action": {"s3": 1}}]}': "allowed: strings",
        '{"Statement": [7]}': "not an object",
    }
    for text, reason in cases.items():
        reading = read_document(text)
        assert reading.status == "invalid" and reason in reading.problem, (text, reading)


def test_a_non_document_value_is_invalid_not_an_error():
    for value in (42, 3.5, True, ["x"], {"a": 1}):
        assert read_document(value).status == "invalid"


def test_principal_in_all_its_forms():
    def principal_of(principal):
        statement = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal}
        return parsed(doc(statement)).statements[0].principal

    assert principal_of("*").everyone
    assert principal_of({"AWS": "*"}).everyone
    assert principal_of({"AWS": ["arn:aws:iam::123456789012:role/a", "*"]}).everyone
    roles = principal_of({"AWS": ["arn:aws:iam::123456789012:role/a"]})
    assert not roles.everyone and roles.aws == ("arn:aws:iam::123456789012:role/a",)
    assert principal_of({"Service": "lambda.amazonaws.com"}).service == ("lambda.amazonaws.com",)
    github = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    federated = principal_of({"Federated": github})
    assert federated.federated and not federated.everyone


def test_not_principal_grants_to_everyone_else():
    statement = {"Effect": "Allow", "Action": "kms:*", "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:root"}}
    assert parsed(doc(statement)).statements[0].grants_to_everyone


def test_an_unknown_resource_is_every_resource_at_worst_and_a_named_one_at_best():
    reading = read_document(doc(allow("kms:Decrypt", UNKNOWN), as_json=False))
    assert reading.worst.statements[0].on_every_resource
    assert not reading.best.statements[0].on_every_resource


def test_an_unknown_effect_is_allow_at_worst_and_deny_at_best():
    reading = read_document(doc({"Effect": UNKNOWN, "Action": "*", "Resource": "*"}, as_json=False))
    assert reading.worst.statements[0].allows and not reading.best.statements[0].allows


def test_unknown_action_elements_match_everything_at_worst_and_nothing_at_best():
    reading = read_document(doc(allow(["s3:GetObject", UNKNOWN]), as_json=False))
    assert reading.worst.statements[0].allows_action("iam:CreateAccessKey")
    assert not reading.best.statements[0].allows_action("iam:CreateAccessKey")
    assert reading.best.statements[0].allows_action("s3:GetObject")


# --- Matching -------------------------------------------------------------------------------------

def test_action_wildcards_match_like_iam():
    assert pattern_matches("s3:Get*", "s3:GetObject")
    assert not pattern_matches("s3:Get*", "s3:PutObject")
    assert pattern_matches("*", "iam:PassRole")
    assert pattern_matches("iam:?assRole", "iam:PassRole")
    assert not pattern_matches("iam:PassRole", "iam:PassRoles")


def test_action_matching_ignores_case():
    assert pattern_matches("S3:getobject", "s3:GetObject")
    assert pattern_matches("IAM:Pass*", "iam:passrole")


def test_brackets_and_dots_in_patterns_are_literal():
    assert not pattern_matches("s3:Get[O]bject", "s3:GetObject")
    assert not pattern_matches("s3.GetObject", "s3xGetObject")


def test_a_broader_pattern_subsumes_a_narrower_one():
    assert pattern_matches("s3:*", "s3:Get*")
    assert not pattern_matches("s3:Get*", "s3:*")


def test_patterns_overlap_when_some_action_matches_both():
    assert patterns_overlap("iam:*", "iam:Create*")
    assert patterns_overlap("*", "s3:GetObject")
    assert not patterns_overlap("s3:*", "iam:*")
    assert not patterns_overlap("iam:CreateUser", "iam:Delete*")


def test_not_action_allows_every_action_it_does_not_list():
    statement = parsed(doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})).statements[0]
    assert statement.allows_action("s3:DeleteBucket")
    assert not statement.allows_action("iam:CreateUser")
    assert statement.covers_all_of("s3:*") and not statement.covers_all_of("iam:*")


def test_an_unconditioned_deny_on_every_resource_takes_an_action_away():
    document = parsed(doc(allow("*"), {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}))
    assert not document.allows_anywhere("iam:CreateAccessKey")
    assert document.allows_anywhere("s3:GetObject")


def test_a_conditioned_or_scoped_deny_does_not_take_the_action_away_everywhere():
    conditioned = {"Effect": "Deny", "Action": "iam:*", "Resource": "*",
                   "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}
    scoped = {"Effect": "Deny", "Action": "iam:*", "Resource": "arn:aws:iam::123456789012:role/admin"}
    assert parsed(doc(allow("*"), conditioned)).allows_anywhere("iam:CreateAccessKey")
    assert parsed(doc(allow("*"), scoped)).allows_anywhere("iam:CreateAccessKey")


@given(st.sampled_from(["s3:GetObject", "iam:PassRole", "kms:Decrypt", "ec2:RunInstances", "sts:AssumeRole"]),
       st.lists(st.sampled_from(["*", "iam:*", "s3:Get*", "kms:Decrypt", "ec2:Describe*"]), max_size=3))
def test_adding_deny_statements_never_allows_more(action, denied):
    base = [allow("*")]
    denies = [{"Effect": "Deny", "Action": d, "Resource": "*"} for d in denied]
    before = parsed(doc(*base)).allows_anywhere(action)
    after = parsed(doc(*base, *denies)).allows_anywhere(action)
    assert after <= before


@given(st.text(alphabet="abcdefgAB*?", min_size=1, max_size=8), st.text(alphabet="xyzXY", max_size=4))
def test_a_pattern_matches_every_action_made_by_filling_its_wildcards(pattern, filler):
    action = pattern.replace("*", filler).replace("?", "q")
    assert pattern_matches(f"svc:{pattern}", f"svc:{action}")


# --- Resources, principals, conditions ------------------------------------------------------------

def test_unconstrained_resources():
    for resource in ("*", "arn:aws:s3:::*", "arn:*:*:*:*:*", "arn:aws:secretsmanager:*:*:secret:*",
                     "arn:aws:logs:*:*:*"):
        assert is_unconstrained_resource(resource), resource
    for resource in ("arn:aws:s3:::bucket/*", "arn:aws:logs:us-east-1:123456789012:log-group:/app:*",
                     "arn:aws:ec2:us-east-1:123456789012:instance/*", "arn:aws:kms:us-east-1:123456789012:key/k"):
        assert not is_unconstrained_resource(resource), resource


def test_a_missing_resource_or_not_resource_reaches_every_resource():
    no_resource = parsed(doc({"Effect": "Allow", "Action": "s3:GetObject"})).statements[0]
    not_resource = parsed(doc({"Effect": "Allow", "Action": "s3:GetObject",
                               "NotResource": "arn:aws:s3:::secret/*"})).statements[0]
    assert no_resource.on_every_resource and not_resource.on_every_resource


def test_account_roots():
    assert is_account_root("123456789012")
    assert is_account_root("arn:aws:iam::123456789012:root")
    assert not is_account_root("arn:aws:iam::123456789012:role/deploy")


def test_only_positive_conditions_with_specific_values_restrict():
    assert Condition("StringEquals", "aws:PrincipalOrgID", ("o-abc",)).restricts
    assert Condition("ForAnyValue:StringLike", "aws:PrincipalOrgPaths", ("o-abc/r-1/*",)).restricts
    assert not Condition("StringNotEquals", "aws:PrincipalOrgID", ("o-abc",)).restricts
    assert not Condition("StringEqualsIfExists", "aws:PrincipalOrgID", ("o-abc",)).restricts
    assert not Condition("ForAllValues:StringEquals", "aws:PrincipalOrgPaths", ("o-abc",)).restricts
    assert not Condition("StringLike", "aws:PrincipalOrgID", ("*",)).restricts
    assert not Condition("Null", "aws:PrincipalOrgID", ("false",)).restricts


def test_a_public_statement_narrowed_by_an_org_condition_is_not_public():
    narrowed = {"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}}
    transport_only = {**narrowed, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    assert not parsed(doc(narrowed)).statements[0].is_public
    assert parsed(doc(transport_only)).statements[0].is_public


def test_deny_to_everyone_is_not_public():
    statement = {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}
    assert not parsed(doc(statement)).statements[0].is_public


# --- The action table -----------------------------------------------------------------------------

def test_every_table_entry_is_a_service_and_action_name():
    for category, actions in ACTION_TABLE.items():
        assert actions, category
        for action in actions:
            assert ACTION_NAME.fullmatch(action), (category, action)


def test_escalation_paths_name_concrete_actions():
    for name, actions in PRIVILEGE_ESCALATION.items():
        assert actions and all("*" not in a for a in actions), name


def test_star_only_actions_are_not_counted_as_exposure_or_exfiltration():
    for action in (*CREDENTIALS_EXPOSURE, *DATA_EXFILTRATION, *PERMISSIONS_MANAGEMENT):
        assert not is_star_only(action), action


def test_benign_token_actions_are_not_credentials_exposure():
    assert "ecr:GetAuthorizationToken" not in CREDENTIALS_EXPOSURE
    assert "sts:GetSessionToken" not in CREDENTIALS_EXPOSURE


def test_star_only_covers_patterns_it_subsumes_and_nothing_broader():
    assert is_star_only("ec2:DescribeInstances")
    assert is_star_only("autoscaling:Describe*")
    assert is_star_only("logs:DescribeLogGroups")
    assert is_star_only("xray:PutTraceSegments")
    assert is_star_only("ssmmessages:CreateControlChannel")
    assert not is_star_only("logs:DescribeLogStreams")
    assert not is_star_only("ec2:*")
    assert not is_star_only("*")
    assert "logs:PutResourcePolicy" not in STAR_ONLY_ACTIONS


def test_write_actions_are_recognised_by_their_verb_even_through_wildcards():
    for pattern in ("s3:PutObject", "s3:Put*", "s3:*Object", "ec2:RunInstances", "iam:*", "*"):
        assert may_match_write(pattern), pattern
    for pattern in ("s3:GetObject", "s3:Get*", "ec2:Describe*", "logs:FilterLogEvents", "dynamodb:BatchGetItem"):
        assert not may_match_write(pattern), pattern


# --- Never raises ---------------------------------------------------------------------------------

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10), st.sampled_from(sorted(UNKNOWN_SENTINELS)),
              st.sampled_from(["Allow", "Deny", "*", "s3:Get*", "Statement", "Action"])),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(["Statement", "Effect", "Action", "NotAction", "Resource", "NotResource",
                                         "Principal", "NotPrincipal", "Condition", "AWS", "Service", "Sid"]),
                        children, max_size=5)),
    max_leaves=20)


@given(json_values)
def test_reading_any_value_never_raises(value):
    reading = read_document(value)
    assert reading.status in ("absent", "unknown", "invalid", "parsed")
    for document in (reading.worst, reading.best):
        for statement in document.statements:
            statement.allows_action("iam:PassRole")
            assert isinstance(statement.on_every_resource, bool) and isinstance(statement.is_public, bool)


@given(json_values)
def test_reading_any_json_text_never_raises(value):
    assert read_document(json.dumps(value)).status in ("absent", "unknown", "invalid", "parsed")


# The Service Authorization Reference lists 17 EC2 Describe actions that take a resource type.
EC2_DESCRIBES_WITH_RESOURCES = (
    "DescribeCapacityBlockExtensionOfferings", "DescribeClientVpnAuthorizationRules", "DescribeClientVpnConnections",
    "DescribeClientVpnRoutes", "DescribeClientVpnTargetNetworks", "DescribeFleetHistory", "DescribeFleetInstances",
    "DescribeFpgaImageAttribute", "DescribeImageAttribute", "DescribeInstanceAttribute",
    "DescribeSecurityGroupReferences", "DescribeSnapshotAttribute", "DescribeSpotFleetInstances",
    "DescribeSpotFleetRequestHistory", "DescribeVolumeAttribute", "DescribeVpcAttribute",
    "DescribeVpcEndpointServicePermissions",
)


def test_ec2_describe_as_a_whole_is_not_star_only():
    assert not is_star_only("ec2:Describe*")


def test_each_ec2_describe_that_takes_a_resource_is_not_star_only():
    for name in EC2_DESCRIBES_WITH_RESOURCES:
        assert not is_star_only(f"ec2:{name}"), name
        assert f"ec2:{name}" not in STAR_ONLY_ACTIONS


def test_a_wildcard_that_reaches_a_resource_level_describe_is_not_star_only():
    assert not is_star_only("ec2:DescribeInstance*")
    assert not is_star_only("ec2:DescribeVpc*")


def test_a_wildcard_within_the_star_only_describes_is_star_only():
    assert is_star_only("ec2:DescribeVpcs")
    assert is_star_only("ec2:DescribeSecurityGroups")
    assert is_star_only("ec2:DescribeInstanceStatus")


def test_star_only_matching_ignores_case():
    assert is_star_only("EC2:describeinstances")


def test_a_wildcard_outside_the_completely_listed_families_is_not_star_only():
    # Every xray action the table lists accepts only "*", but the table does not list every xray action.
    assert not is_star_only("xray:Put*")
    assert not is_star_only("logs:Describe*")


def test_describe_instance_attribute_on_every_resource_is_unconstrained():
    document = parsed(doc({"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}))
    assert document.statements[0].broad_action_patterns() == ("ec2:Describe*",)
