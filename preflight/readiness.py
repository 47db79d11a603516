"""Deploy readiness: config values that pass every check offline but cannot work in a real account.

Documentation examples are the usual culprits: an ARN in AWS's example account 123456789012, an address
range reserved for documentation (RFC 5737 and RFC 3849), a domain reserved for examples (RFC 2606). A stack
that still holds one previews cleanly and then fails (or serves nobody) on `pulumi up`. This works on any
Pulumi program's flat config (``namespace:key`` -> string, lists JSON-encoded); it never reads a secret.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

DOCUMENTATION_ACCOUNT = "123456789012"
DOCUMENTATION_NETWORKS = tuple(ipaddress.ip_network(cidr) for cidr in (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",  # RFC 5737: TEST-NET-1, -2, -3
    "2001:db8::/32",  # RFC 3849
))
_DOCUMENTATION_ARN = re.compile(rf"\barn:[\w-]+:[\w-]+:[\w-]*:{DOCUMENTATION_ACCOUNT}:\S*")
# example.com/.net/.org and any of their subdomains (RFC 2606), as a host, in a URL or an e-mail address.
# The name must end there: example.com.evil.io is not under example.com.
_EXAMPLE_DOMAIN = re.compile(r"(?<![\w-])((?:[a-z0-9-]+\.)*example\.(?:com|net|org))(?![\w-]|\.[a-z0-9])",
                             re.IGNORECASE)


def placeholder_values(config: Mapping[str, Any], secret_keys: Iterable[str] = ()) -> list[dict[str, str]]:
    """Every config value (or list item) that is a documentation placeholder, as {key, value, message}, in key
    order. ``secret_keys`` are skipped: a secret's text is not read."""
    secrets = set(secret_keys)
    entries = []
    for key in sorted(config):
        if key in secrets:
            continue
        for value in _values(config[key]):
            message = placeholder_message(value)
            if message:
                entries.append({"key": key, "value": value, "message": message})
    return entries


def placeholder_message(value: str) -> str | None:
    """Why ``value`` cannot work in a real account and what to put there instead, or None when it can."""
    arn = _DOCUMENTATION_ARN.search(value)
    if arn:
        return (f"an ARN in {DOCUMENTATION_ACCOUNT}, AWS's documentation account, which is nobody's: put the ARN "
                f"of the resource in your own account (`aws sts get-caller-identity` shows its ID)")
    network = _documentation_network(value)
    if network:
        return (f"inside {network}, a range reserved for documentation that no real host or client uses: put "
                f"your own addresses (for your current public IP: `curl https://checkip.amazonaws.com`)")
    domain = _EXAMPLE_DOMAIN.search(value)
    if domain:
        return (f"{domain.group(1).lower()} is a domain reserved for examples, which nobody can own or delegate: "
                f"put a domain you own")
    return None


def _values(raw: Any) -> Iterator[str]:
    """The strings a config value holds: the value itself, or each item of a JSON list (or object), nested."""
    decoded = raw
    if isinstance(raw, str) and raw[:1] in "[{":
        try:
            decoded = json.loads(raw)
        except json.JSONDecodeError:
            decoded = raw
    if isinstance(decoded, Mapping):
        decoded = list(decoded.values())
    if isinstance(decoded, list):
        for item in decoded:
            if isinstance(item, (str, list, Mapping)):
                yield from _values(item)
    elif isinstance(decoded, str):
        yield decoded


def _documentation_network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """The documentation range that ``value`` (an address or a CIDR) lies in, or None."""
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None
    return next((doc for doc in DOCUMENTATION_NETWORKS
                 if doc.version == network.version and network.subnet_of(doc)), None)
