"""Finding codes and severities: a fixed contract (JSON output, metrics, the MikoPBX module)."""

from __future__ import annotations

import enum
from typing import NamedTuple


class Severity(enum.IntEnum):
    INFO = 0
    WARNING = 1
    CRITICAL = 2

    @property
    def label(self) -> str:
        return self.name.lower()


class Code(enum.StrEnum):
    HOST_DIFFERS = "host-differs-from-advertised"
    PEER_ADDRESS_DIFFERS = "peer-address-differs-from-advertised"
    ADVERTISED_TAKEN = "advertised-address-taken"
    MASQUERADED = "masqueraded-toward-peer"
    NOT_IN_LOCAL_NET = "tailnet-not-in-local-net"
    PEER_NOT_IN_TAILNET = "peer-not-in-tailnet"
    PROVIDER_UNMATCHED = "provider-unmatched"


ALL_CODES: tuple[str, ...] = tuple(c.value for c in Code)


class Finding(NamedTuple):
    code: Code
    severity: Severity
    provider: str | None = None
    station: str | None = None
    configured: str | None = None  # what the provider holds
    advertised: str | None = None  # what the station's owner advertises
    observed: str | None = None  # what our tailnet shows
    masquerade: str | None = None  # the address a peer knows us by
    node: str | None = None  # Tailscale machine name the remedy talks about
    # Extra template values for messages (holder, stale, description, ...), sorted pairs.
    params: tuple[tuple[str, str], ...] = ()

    def param(self, key: str, default: str = "") -> str:
        for k, v in self.params:
            if k == key:
                return v
        return default

    @property
    def sort_key(self) -> tuple[int, str, str, str]:
        return (-int(self.severity), self.code.value, self.provider or "", self.station or "")
