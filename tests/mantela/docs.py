"""Real-shaped Mantela documents (after tkytel/mantela @ 5151c03 example.json), fictional data."""

from __future__ import annotations

import copy
import json
from typing import Any

EXAMPLE: dict[str, Any] = {
    "$schema": "https://tkytel.github.io/mantela/0.1.x/mantela.schema.json",
    "version": "0.1.x",
    "aboutMe": {
        "name": "Example manTELa",
        "preferredPrefix": ["0150", "150"],
        "identifier": "b0ce607e-a8be-470b-9506-2f9aae1ea317",
        "sipUri": ["sip:phone.example.com:5060;transport=udp"],
        "geolocationCoordinates": {
            "latitude": 35.68517310604948,
            "longitude": 139.75279903638477,
            "accuracy": 1000,
        },
        "image": "https://github.com/tkytel.png",
    },
    "extensions": [
        {"name": "Test Call", "extension": "1234", "identifier": "E4NZJ4XC", "type": "information"},
        {"name": "all", "extension": "8888", "type": "main", "transferTo": ["E4NZJ4XC"]},
    ],
    "providers": [],
}


def station(
    name: str,
    identifier: str,
    *,
    tailnet: dict[str, Any] | None = None,
    providers: list[dict[str, Any]] | None = None,
    version: str = "0.1.x",
) -> dict[str, Any]:
    doc = copy.deepcopy(EXAMPLE)
    doc["version"] = version
    doc["aboutMe"]["name"] = name
    doc["aboutMe"]["identifier"] = identifier
    if tailnet is not None:
        doc["aboutMe"]["tailnet"] = tailnet
    doc["providers"] = providers or []
    return doc


def link(name: str, identifier: str, prefix: str, url: str) -> dict[str, Any]:
    return {"name": name, "prefix": prefix, "identifier": identifier, "mantela": url}


def dumps(doc: Any) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
