"""The preflight records which config keys a program reads through the SDK, and judges the rest."""

from __future__ import annotations

import pulumi
from pulumi.runtime import config as runtime_config

from preflight.configreads import packages_used, provider_config_keys, recording_config_reads, unread_key_problems
from preflight.stackfiles import StackFiles, Written


def test_every_sdk_config_call_is_recorded_with_its_full_key():
    runtime_config.set_all_config({"demo:name": "x", "demo:count": "3", "demo:on": "true", "demo:tags": "[]"}, [])
    with recording_config_reads() as reads:
        config = pulumi.Config("demo")
        config.get("name")
        config.require_int("count")
        config.get_bool("on")
        config.get_object("tags")
        config.get_secret("absent")
    assert reads == {"demo:name", "demo:count", "demo:on", "demo:tags", "demo:absent"}


def test_reads_after_the_block_are_not_recorded():
    with recording_config_reads() as reads:
        pass
    pulumi.Config("demo").get("name")
    assert reads == set()


def test_the_aws_providers_declared_keys_come_from_its_package():
    keys = provider_config_keys("aws")
    assert {"region", "profile", "defaultTags", "skipCredentialsValidation"} <= set(keys)
    assert "regoin" not in keys


def test_an_unknown_provider_package_declares_nothing_known():
    assert provider_config_keys("no-such-provider") is None


def test_packages_are_the_providers_the_recording_registered():
    assert packages_used(["pulumi:providers:aws", "aws:s3/bucket:Bucket", "demo:index:Thing"]) == {"aws"}


def test_a_key_of_the_engines_namespace_is_never_refused():
    files = StackFiles("demo", "dev", None, "__main__.py", written={"pulumi:tags": Written(2, "", {}, False)})
    assert unread_key_problems(files, set(), {"aws"}) == []
