"""The preflight's generic deploy-readiness check: documentation placeholders in any program's flat config."""

from __future__ import annotations

import json

import pytest

from preflight.readiness import placeholder_values


def found(config: dict[str, str], secret_keys=()) -> list[tuple[str, str]]:
    return [(entry["key"], entry["value"]) for entry in placeholder_values(config, secret_keys)]


def test_an_arn_in_the_documentation_account_is_reported_with_what_to_put_there():
    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/0b5c3c9e-8a4d-4f59-9d55-3f2e8c1a7b10"
    (entry,) = placeholder_values({"app:certificateArn": arn})
    assert (entry["key"], entry["value"]) == ("app:certificateArn", arn)
    assert "your own account" in entry["message"]


def test_an_arn_of_another_account_is_not_reported():
    assert found({"app:role": "arn:aws:iam::111122223333:role/deployer"}) == []


@pytest.mark.parametrize("value", ["192.0.2.0/24", "198.51.100.7", "203.0.113.0/25", "2001:db8::/48",
                                   "2001:db8::1"])
def test_documentation_address_ranges_are_reported(value):
    (entry,) = placeholder_values({"app:cidr": value})
    assert "reserved for documentation" in entry["message"] and "your own addresses" in entry["message"]


@pytest.mark.parametrize("value", ["0.0.0.0/0", "10.0.0.0/16", "203.0.0.0/8", "2001:db9::/32", "::/0", "not-an-ip"])
def test_real_and_broader_ranges_are_not_reported(value):
    assert found({"app:cidr": value}) == []


def test_a_json_list_is_searched_item_by_item():
    config = {"app:cidrs": json.dumps(["10.0.0.0/8", "203.0.113.0/24", "2001:db8::/32"])}
    assert found(config) == [("app:cidrs", "203.0.113.0/24"), ("app:cidrs", "2001:db8::/32")]


@pytest.mark.parametrize("value", ["example.com", "app.example.org", "example.com.", "https://api.Example.net/hello",
                                   "ops@example.com"])
def test_example_domains_and_their_subdomains_are_reported(value):
    (entry,) = placeholder_values({"app:domain": value})
    assert "a domain you own" in entry["message"]


@pytest.mark.parametrize("value", ["myexample.com", "example.com.evil.io", "example.io", "my-data.example"])
def test_other_domains_are_not_reported(value):
    assert found({"app:domain": value}) == []


def test_secrets_are_never_read():
    assert found({"app:token": "203.0.113.1"}, secret_keys=["app:token"]) == []


def test_entries_come_in_key_order():
    config = {"b:x": "example.com", "a:y": "192.0.2.1"}
    assert [key for key, _ in found(config)] == ["a:y", "b:x"]
