"""SNS and SQS policies: encryption at rest (SNS.1, SQS.1)."""

from __future__ import annotations

from typing import Any

from policies.rules import Resource, rule_named

TOPIC = "aws:sns/topic:Topic"
QUEUE = "aws:sqs/queue:Queue"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
UNKNOWN_BOOL = "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7"


def check(policy: str, type_: str, **props: Any) -> list[str]:
    return rule_named(policy).evaluate(Resource(type_, props, name="r"))


def test_a_topic_without_a_key_is_refused():
    assert check("sns-topic-encrypted", TOPIC, name="alarms") == [
        "kmsMasterKeyId = not set; allowed: a KMS key ID, ARN or alias"]
    assert check("sns-topic-encrypted", TOPIC, kmsMasterKeyId="  ") == [
        "kmsMasterKeyId = '  '; allowed: a KMS key ID, ARN or alias"]


def test_a_topic_with_a_key_passes_even_the_aws_managed_one():
    assert check("sns-topic-encrypted", TOPIC, kmsMasterKeyId=KEY_ARN) == []
    assert check("sns-topic-encrypted", TOPIC, kmsMasterKeyId="alias/aws/sns") == []  # SNS.1 asks only for KMS
    assert check("sns-topic-encrypted", TOPIC, kmsMasterKeyId=UNKNOWN_STRING) == []  # the stack key's ARN


def test_a_queue_with_a_key_or_sqs_managed_encryption_passes():
    assert check("sqs-queue-encrypted", QUEUE, kmsMasterKeyId=KEY_ARN) == []
    assert check("sqs-queue-encrypted", QUEUE, sqsManagedSseEnabled=True) == []


def test_a_queue_that_turns_encryption_off_is_refused():
    assert check("sqs-queue-encrypted", QUEUE, sqsManagedSseEnabled=False) == [
        "sqsManagedSseEnabled = false and kmsMasterKeyId = not set: messages are stored unencrypted; allowed: a KMS "
        "key, or sqsManagedSseEnabled true"]


def test_a_queue_that_leaves_encryption_to_the_default_is_refused():
    assert check("sqs-queue-encrypted", QUEUE) == [
        "neither kmsMasterKeyId nor sqsManagedSseEnabled is set; allowed: a KMS key, or sqsManagedSseEnabled true"]


def test_an_unknown_sqs_managed_setting_cannot_be_verified():
    (message,) = check("sqs-queue-encrypted", QUEUE, sqsManagedSseEnabled=UNKNOWN_BOOL)
    assert "sqsManagedSseEnabled cannot be verified during preview" in message
