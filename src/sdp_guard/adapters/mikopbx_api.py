"""MikoPBX REST API v3 client: SIP providers and firewall (network filter) records.

Facts from github.com/mikopbx/Core @ e26e6b973bbef6a0d4d1064fe495e62c70f475df:

- ``/pbxcore/api/v3/sip-providers`` (``Controllers/SipProviders/RestController.php``): GET list
  (``includeDisabled=true`` to see disabled ones, ``Lib/ProvidersManagementProcessor.php``), GET,
  PATCH ``/{id}`` where ``{id}`` is the uniqid. Security: LOCALHOST or BEARER_TOKEN, so requests
  from 127.0.0.1 need no token.
- Every answer is a ``PBXApiResult`` envelope (``Lib/PBXApiResult.php``): ``result``, ``data``,
  ``messages`` (``{"error": [...]}``), ``function``, ``processor``, ``pid``. A business error
  comes as HTTP 422 with ``result: false`` (``Controllers/BaseController.php``).
- ``/pbxcore/api/v3/firewall`` (``Controllers/Firewall/RestController.php``,
  ``Lib/Firewall/SaveRecordAction.php``) writes ``m_NetworkFilters``; ``/network-filters`` is
  read-only.

The bearer token is read from a file that must not be readable by group or others; it is sent
only in the ``Authorization`` header and never logged or put into an error message.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import urllib.parse
from typing import Any

from sdp_guard.adapters.bounded import DeadlineExceeded, TooLarge
from sdp_guard.errors import ApiError, ConfigError

MAX_ANSWER_BYTES = 64 * 1024 * 1024  # a provider list of 10,000 trunks is ~30 MB

log = logging.getLogger(__name__)

PROVIDERS = "/pbxcore/api/v3/sip-providers"
FIREWALL = "/pbxcore/api/v3/firewall"

HINT_DOWN = (
    "is MikoPBX running and is its web server reachable at this address? Set --api-url or "
    "mikopbx.api_url. For a stopped MikoPBX use --offline-db."
)
HINT_AUTH = (
    "requests from 127.0.0.1 need no token; from anywhere else put a MikoPBX API key "
    "(System → API keys) into a file with mode 0600 and set mikopbx.api_token_file"
)


class ApiUnreachable(ApiError):
    """Nothing answered HTTP at the API address (refused, reset, no route)."""


class ApiTimeout(ApiUnreachable):
    """The request went out but no answer came in time: a write may have landed anyway."""


class ApiRefused(ApiError):
    """HTTP 401/403: a token is missing or wrong."""


class ApiServerError(ApiError):
    """HTTP 5xx: MikoPBX failed (workers restarting, a PHP error)."""


class ApiNotApi(ApiError):
    """Something answered, but not MikoPBX's REST API v3 (wrong URL or prefix)."""


class ApiRejected(ApiError):
    """MikoPBX answered ``result: false`` (HTTP 422/404/409): it refused this request."""


def read_token(path: str) -> str:
    """The API key from ``path``; refuses files that group or others can read."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ConfigError(f"API token file {path} does not exist") from None
    except OSError as e:
        raise ConfigError(f"cannot read API token file {path}: {e.strerror}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"API token file {path} is readable by others (mode {stat.S_IMODE(st.st_mode):04o})",
            f"chmod 600 {path}",
        )
    try:
        with open(path, encoding="utf-8") as f:
            token = f.read().strip()
    except OSError as e:
        raise ConfigError(f"cannot read API token file {path}: {e.strerror}") from None
    if not token:
        raise ConfigError(f"API token file {path} is empty")
    return token


class MikoPbxApi:
    """A small synchronous client (stdlib ``http.client``, imported on first use)."""

    def __init__(
        self, base_url: str, token: str = "", timeout: float = 10.0, deadline: float = 60.0
    ) -> None:
        from sdp_guard.config import _http_url

        try:
            _http_url(base_url)
        except ValueError as e:
            raise ConfigError(f"MikoPBX API URL {base_url!r}: {e}") from None
        parts = urllib.parse.urlsplit(base_url if "://" in base_url else f"http://{base_url}")
        self.base_url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self._scheme = parts.scheme
        self._host = parts.hostname or ""
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.deadline = deadline  # one request, whole answer included

    def __repr__(self) -> str:  # never show the token
        return f"MikoPbxApi({self.base_url!r}, token={'set' if self._token else 'none'})"

    # -- transport -------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Send one request; return the envelope's ``data``; raise ApiError with a clear message."""
        import http.client

        from sdp_guard.adapters.bounded import Deadline, http_connection, read_body

        deadline = Deadline(self.deadline)
        conn = http_connection(self._scheme, self._host, self._port, self.timeout, deadline)
        headers = {"Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        where = f"{method} {self.base_url}{path}"
        log.debug("MikoPBX API %s", where)
        try:
            conn.request(method, self._prefix + path, body=payload, headers=headers)
            resp = conn.getresponse()
            raw = read_body(resp, MAX_ANSWER_BYTES, where)
            status = resp.status
        except TimeoutError as e:
            within = self.deadline if isinstance(e, DeadlineExceeded) else self.timeout
            raise ApiTimeout(
                f"MikoPBX REST API did not answer within {within:g} s ({where})", HINT_DOWN
            ) from e
        except TooLarge as e:
            raise ApiNotApi(
                f"MikoPBX REST API: {e}",
                "is --api-url the MikoPBX web server (REST API v3, MikoPBX 2025 or later)?",
            ) from e
        except (ConnectionError, http.client.HTTPException, OSError, ValueError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
            raise ApiUnreachable(
                f"MikoPBX REST API is not reachable ({where}): {reason}", HINT_DOWN
            ) from e
        finally:
            conn.close()
        return _parse(status, raw, where)

    # -- providers -------------------------------------------------------------------------

    def list_providers(self) -> list[dict[str, Any]]:
        data = self.request("GET", PROVIDERS + "?includeDisabled=true")
        if not isinstance(data, list):
            raise ApiNotApi(f"unexpected provider list from MikoPBX ({self.base_url}{PROVIDERS})")
        return [d for d in data if isinstance(d, dict)]

    def get_provider(self, provider_id: str) -> dict[str, Any]:
        data = self.request("GET", f"{PROVIDERS}/{urllib.parse.quote(provider_id)}")
        if not isinstance(data, dict) or data.get("id") != provider_id:
            raise ApiNotApi(f"unexpected answer for provider {provider_id} from MikoPBX")
        return data

    def patch_provider(self, provider_id: str, body: dict[str, Any]) -> dict[str, Any]:
        data = self.request("PATCH", f"{PROVIDERS}/{urllib.parse.quote(provider_id)}", body)
        return data if isinstance(data, dict) else {}

    # -- network filters -------------------------------------------------------------------

    def list_filters(self) -> list[dict[str, Any]]:
        """The saved network filters, ``local_network``/``newer_block_ip`` as booleans.

        MikoPBX 2026.1 answers ``{items: [...], total, firewallEnabled, ...}``
        (``Lib/Firewall/GetListAction.php`` l.220) with string ids, and appends an unsaved default
        per local address (``id: ''``, flags as ``'0'``/``'1'`` strings) that is no DB record;
        those are left out. A bare list (older builds) is taken as the items.
        """
        data = self.request("GET", FIREWALL)
        items = data.get("items") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ApiNotApi(f"unexpected firewall list from MikoPBX ({self.base_url}{FIREWALL})")
        out = []
        for d in items:
            if not isinstance(d, dict) or str(d.get("id") if d.get("id") is not None else "") == "":
                continue
            out.append(
                {
                    **d,
                    "id": str(d["id"]),
                    "local_network": flag(d.get("local_network")),
                    "newer_block_ip": flag(d.get("newer_block_ip")),
                }
            )
        return out

    def patch_filter(self, filter_id: str, body: dict[str, Any]) -> dict[str, Any]:
        data = self.request("PATCH", f"{FIREWALL}/{urllib.parse.quote(filter_id)}", body)
        return data if isinstance(data, dict) else {}

    def create_filter(self, body: dict[str, Any]) -> dict[str, Any]:
        data = self.request("POST", FIREWALL, body)
        return data if isinstance(data, dict) else {}

    def delete_filter(self, filter_id: str) -> None:
        self.request("DELETE", f"{FIREWALL}/{urllib.parse.quote(filter_id)}")

    def answers(self) -> bool:
        """True when anything answers HTTP at the API address (used to refuse --offline-db)."""
        try:
            self.request("GET", PROVIDERS)
        except ApiUnreachable:
            return False
        except ApiError:
            return True
        return True


def flag(v: Any) -> bool:
    """A MikoPBX yes/no as JSON shows it: ``true``, ``1`` or ``'1'`` (also ``'true'``)."""
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() in ("1", "true")


def _parse(status: int, raw: bytes, where: str) -> Any:
    from sdp_guard.adapters.bounded import loads_json

    try:
        doc = loads_json(raw, where) if raw else None
    except ValueError:
        doc = None
    msgs = _messages(doc)
    detail = f": {msgs}" if msgs else ""
    if status in (401, 403):
        raise ApiRefused(
            f"MikoPBX refused the request (HTTP {status}) ({where}){detail}", HINT_AUTH
        )
    if status >= 500:
        raise ApiServerError(
            f"MikoPBX failed with HTTP {status} ({where}){detail}",
            "MikoPBX's workers may be restarting; look at its system log and try again",
        )
    if status == 404 and not (isinstance(doc, dict) and doc.get("function")):
        raise ApiNotApi(
            f"MikoPBX has no such API endpoint (HTTP 404) ({where}){detail}",
            "is --api-url the MikoPBX web server? sync needs MikoPBX 2026.1 or later (the first "
            "release with REST API v3 sip-providers)",
        )
    if not isinstance(doc, dict) or "result" not in doc:
        raise ApiNotApi(
            f"unexpected answer from MikoPBX (HTTP {status}, not a PBXApiResult) ({where})",
            "is --api-url the MikoPBX web server? sync needs MikoPBX 2026.1 or later (the first "
            "release with REST API v3 sip-providers)",
        )
    if status >= 400 or doc.get("result") is not True:
        raise ApiRejected(
            f"MikoPBX said no (HTTP {status}) ({where}){detail or ': no reason given'}"
        )
    return doc.get("data")


def _messages(doc: Any) -> str:
    if not isinstance(doc, dict):
        return ""
    m = doc.get("messages")
    out: list[str] = []
    if isinstance(m, dict):
        for v in m.values():
            if isinstance(v, list):
                out += [str(x) for x in v]
            elif v:
                out.append(str(v))
    elif isinstance(m, list):
        out = [str(x) for x in m]
    from sdp_guard.core.text import sanitize_text

    return sanitize_text("; ".join(out), 500)
