"""Reading the JSON files a user hands the preflight (policy config, invoke answers, stack outputs, a base
document) with one kind of message: the file, and whether it is missing or not JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_json(path: Path, what: str, error: type[Exception]) -> Any:
    """The JSON value in ``path``; ``error("<what> <path> not found" / "... is not valid JSON: ...")`` otherwise.
    What the value must be is the caller's to check, in its own words."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise error(f"{what} {path} not found") from None
    except json.JSONDecodeError as decode_error:
        raise error(f"{what} {path} is not valid JSON: {decode_error}") from None
