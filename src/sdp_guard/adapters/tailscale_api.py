"""Tailscale's control API, only the two calls ``renumber`` needs.

    GET  /api/v2/tailnet/-/devices      -> {"devices": [{"nodeId", "id", "name", "hostname",
                                                          "addresses", "isExternal", ...}]}
    POST /api/v2/device/{nodeId}/ip     {"ipv4": "100.x.y.z"} -> {} (2xx)
    errors                               -> HTTP status + {"message": "..."}

Shapes from tailscale/tailscale publicapi/{readme,device,tailnet}.md @ afec2d41 and
tailscale/tailscale-client-go tailscale/client.go @ 0c48e46 (``APIError{message,data}``,
``Devices()`` reads ``resp["devices"]``, ``SetDeviceIPv4Address``). ``-`` is the default tailnet
of the key. The status code for "address already in use" is not documented: 409, and 400 whose
message says "in use", are both read as such (UNVERIFIED which one the service sends).

The API key is read from a file that only its owner may read, sent as a Bearer token, and never
logged, printed or put in an exception.

    ControlApiError
    ├── ApiKeyFileError        the key file is missing, empty or readable by others
    ├── AuthError              401 (key refused) / 403 (key lacks permission)
    ├── NotFoundError          404 (device or tailnet unknown)
    └── AddressTakenError      the address is in use here (finding advertised-address-taken)
"""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sdp_guard.core.addresses import normalize
from sdp_guard.errors import Error

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.tailscale.com"
ADMIN_MACHINES_URL = "https://login.tailscale.com/admin/machines"
MAX_ANSWER_BYTES = 8 * 1024 * 1024  # the device list of a large tailnet stays far below this


class ControlApiError(Error):
    """The Tailscale control API refused a request or did not answer."""

    exit_code = os.EX_UNAVAILABLE


class ApiKeyFileError(ControlApiError):
    """The API key file cannot be used."""

    exit_code = os.EX_NOPERM


class AuthError(ControlApiError):
    """The API key was refused (401) or may not do this (403)."""

    exit_code = os.EX_NOPERM


class NotFoundError(ControlApiError):
    """The device or tailnet is unknown to the control API (404)."""


class AddressTakenError(ControlApiError):
    """The advertised address belongs to another device in this tailnet."""

    exit_code = os.EX_UNAVAILABLE
    code = "advertised-address-taken"


def read_api_key(path: str) -> str:
    """The key in ``path``; refuses a file that group or others can read or write."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise ApiKeyFileError(
            f"API key file {path} does not exist",
            "create an API access token in the admin console (Settings → Keys), save it in a "
            "file and run `chmod 600 FILE`",
        ) from None
    except OSError as e:
        raise ApiKeyFileError(f"cannot open API key file {path}: {e.strerror or e}") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ApiKeyFileError(f"API key file {path} is not a regular file")
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise ApiKeyFileError(
                f"API key file {path} has mode {mode:04o}; others could read the key",
                f"run `chmod 600 {path}` (the file must be readable by its owner only)",
            )
        raw = f.read(4096)
    try:
        key = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise ApiKeyFileError(f"API key file {path} does not hold an ASCII key") from None
    if not key or any(c.isspace() for c in key):
        raise ApiKeyFileError(
            f"API key file {path} must hold exactly one key (tskey-api-…) and nothing else"
        )
    return key


@dataclass(frozen=True)
class Device:
    """A device as the control API lists it (only the fields sdp-guard uses)."""

    node_id: str  # "nodeId", preferred in URLs
    legacy_id: str = ""  # "id"
    name: str = ""  # MagicDNS name
    hostname: str = ""  # machine name shown in the admin console
    ipv4: str = ""
    ipv6: str = ""
    is_external: bool = False  # shared in from another tailnet
    user: str = ""

    @property
    def machine_name(self) -> str:
        first = self.name.split(".", 1)[0] if self.name else ""
        return first or self.hostname

    @property
    def api_id(self) -> str:
        return self.node_id or self.legacy_id


def parse_devices(doc: Any) -> list[Device]:
    if not isinstance(doc, Mapping) or not isinstance(doc.get("devices"), list):
        raise ControlApiError("unexpected control API answer: no 'devices' list")
    out: list[Device] = []
    for d in doc["devices"]:
        if not isinstance(d, Mapping):
            continue
        v4 = v6 = ""
        for a in d.get("addresses") or ():
            n = normalize(str(a))
            if ":" in n:
                v6 = v6 or n
            elif n:
                v4 = v4 or n
        out.append(
            Device(
                node_id=str(d.get("nodeId") or ""),
                legacy_id=str(d.get("id") or ""),
                name=str(d.get("name") or "").rstrip("."),
                hostname=str(d.get("hostname") or ""),
                ipv4=v4,
                ipv6=v6,
                is_external=d.get("isExternal") is True,
                user=str(d.get("user") or ""),
            )
        )
    return out


class ControlClient:
    """``ControlClient(key).devices()``; ``base_url`` points elsewhere in tests."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        tailnet: str = "-",
        timeout: float = 20.0,
    ) -> None:
        self._key = api_key
        self.base_url = base_url.rstrip("/")
        self.tailnet = tailnet
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"ControlClient(base_url={self.base_url!r}, tailnet={self.tailnet!r}, key=<hidden>)"

    def devices(self) -> list[Device]:
        """Every device in the tailnet, shared-in ones (``isExternal``) included."""
        import urllib.parse

        path = f"/api/v2/tailnet/{urllib.parse.quote(self.tailnet, safe='-')}/devices"
        return parse_devices(self._request("GET", path, None, what="list devices"))

    def set_ipv4(self, device: Device, ipv4: str) -> None:
        """``POST /api/v2/device/{id}/ip``. Breaks live connections to that machine."""
        import urllib.parse

        path = f"/api/v2/device/{urllib.parse.quote(device.api_id, safe='')}/ip"
        self._request(
            "POST",
            path,
            {"ipv4": ipv4},
            what=f"set the IPv4 of {device.machine_name or device.api_id}",
            ipv4=ipv4,
            device=device,
        )

    def _request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        what: str,
        ipv4: str = "",
        device: Device | None = None,
    ) -> Any:
        import http.client
        import urllib.error
        import urllib.request

        data = json.dumps(body).encode() if body is not None else None
        headers = {
            "Authorization": f"Bearer {self._key}",
            "Accept": "application/json",
            "User-Agent": "sdp-guard",
        }
        if data is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(
            self.base_url + path, data=data, headers=headers, method=method
        )
        log.debug("control API: %s %s", method, path)

        class NoRedirects(urllib.request.HTTPRedirectHandler):
            # Never carry the Authorization header to another place.
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        from sdp_guard.adapters.bounded import (
            Deadline,
            DeadlineExceeded,
            TooLarge,
            deadline_opener,
            read_body,
        )

        # One deadline for the whole exchange (status line, headers and body): a peer that
        # sends a byte a second ends here, not never.
        opener = deadline_opener(Deadline(self.timeout), self.timeout, NoRedirects)
        try:
            with opener.open(req, timeout=self.timeout) as resp:
                raw = read_body(resp, MAX_ANSWER_BYTES, "control API")
        except TooLarge as e:
            raise ControlApiError(f"{e} ({what})") from None
        except DeadlineExceeded:
            raise ControlApiError(
                f"the Tailscale control API did not answer completely within {self.timeout:g} s "
                f"({what})"
            ) from None
        except urllib.error.HTTPError as e:
            try:
                raw_err = e.read(65536)
            except (OSError, http.client.HTTPException):
                raw_err = b""
            finally:
                e.close()
            raise _map_error(e.code, _message(raw_err), what, ipv4, device) from None
        except urllib.error.URLError as e:
            if isinstance(e.reason, DeadlineExceeded | TimeoutError):
                raise ControlApiError(
                    f"the Tailscale control API did not answer within {self.timeout:g} s ({what})"
                ) from None
            raise ControlApiError(
                f"cannot reach the Tailscale control API at {self.base_url}: {e.reason}",
                "check this machine's internet access; or do the step by hand in "
                f"{ADMIN_MACHINES_URL}",
            ) from None
        except (OSError, http.client.HTTPException) as e:
            raise ControlApiError(f"control API request failed ({what}): {e}") from None
        if not raw.strip():
            return {}
        from sdp_guard.adapters.bounded import loads_json

        try:
            return loads_json(raw, "control API answer")
        except ValueError:
            raise ControlApiError(f"control API answered non-JSON ({what})") from None


def _message(raw: bytes) -> str:
    """The ``message`` of an error body (``{"message": ...}``), cut short and on one line."""
    from sdp_guard.adapters.bounded import loads_json

    try:
        doc = loads_json(raw, "control API error")
    except ValueError:
        doc = None
    msg = doc.get("message") if isinstance(doc, Mapping) else None
    text = str(msg) if msg else raw.decode("utf-8", "replace")
    return " ".join(text.split())[:300]


def _map_error(
    status: int, message: str, what: str, ipv4: str, device: Device | None
) -> ControlApiError:
    said = f": {message}" if message else ""
    if status == 401:
        return AuthError(
            f"the control API refused the API key (HTTP 401{said})",
            "the key may have expired (they last 1 to 90 days) or been revoked; create a new "
            "one under Settings → Keys in the admin console",
        )
    if status == 403:
        return AuthError(
            f"the API key may not {what} (HTTP 403{said})",
            "use a key of a user who can edit machines in this tailnet (Owner, Admin or "
            "Network admin), or do the step by hand in the admin console",
        )
    taken = status == 409 or (status == 400 and "in use" in message.lower())
    if taken and ipv4:
        name = device.machine_name if device else "the machine"
        return AddressTakenError(
            f"advertised-address-taken: {ipv4} is already in use in this tailnet, so {name} "
            f"cannot get it (HTTP {status}{said})",
            "free the address (give the machine that holds it another IPv4, or remove a stale "
            "device), or fall back: the station's owner runs "
            "`sdp-guard sync --fallback media-address` on their station",
        )
    if status == 404:
        return NotFoundError(
            f"the control API does not know this (HTTP 404{said}) while trying to {what}",
            "the device may have been removed or re-created; run `sdp-guard renumber PEER` "
            "again, or check the machine in the admin console",
        )
    if status == 400:
        return ControlApiError(f"the control API rejected the request to {what} (HTTP 400{said})")
    return ControlApiError(
        f"the control API answered HTTP {status} while trying to {what}{said}",
        "try again later, or do the step by hand in the admin console",
    )
