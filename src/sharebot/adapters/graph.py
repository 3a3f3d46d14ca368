"""The Graph API plumbing Facebook Pages and Threads share: versioned paths, the token, and Graph errors.

Both APIs answer errors as {"error": {"message", "type", "code", "error_subcode", "error_user_msg",
"fbtrace_id"}} with the same codes (https://developers.facebook.com/docs/graph-api/guides/error-handling),
and report throttling in X-Business-Use-Case-Usage
(https://developers.facebook.com/docs/graph-api/overview/rate-limiting). The token travels in the form body
on writes and as a URL placeholder on reads (see `sharebot.adapters.http`), never in a URL httpx could log.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from sharebot.adapters.base import Adapter, AdapterContext, Secret
from sharebot.adapters.http import Http, hidden, json_body
from sharebot.errors import AuthError, ConfigError, NotSent, PublishError, RateLimited, Rejected, Unconfirmed
from sharebot.models import Account

if TYPE_CHECKING:
    import httpx

AUTH_CODES = {190, 102}
PERMISSION_CODES = {10, 200, 3}
THROTTLE_CODES = {4, 17, 32, 613, 80001}
TRANSIENT_CODES = {1, 2}


def graph_error(body: Any) -> dict[str, Any]:
    """The `error` object of a Graph API answer, or {} when the body has none."""
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def usage_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from X-Business-Use-Case-Usage's estimated_time_to_regain_access (minutes), if any.

    The header maps business ids to lists of usage objects; the longest wait among them is the one
    that matters.
    """
    raw = headers.get("x-business-use-case-usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
        minutes = [float(entry.get("estimated_time_to_regain_access") or 0)
                   for entries in usage.values() for entry in entries]
    except (ValueError, AttributeError, TypeError):
        return None
    return max(minutes) * 60 if minutes and max(minutes) > 0 else None


class GraphAdapter(Adapter):
    """An account on a Graph API: every call goes to /<version>/<path> of `api_base` with the token."""

    api_base: ClassVar[str]
    default_version: ClassVar[str]
    token_name: ClassVar[str]  # the credential holding the access token
    owner_option: ClassVar[str]  # the option naming the node posts go to (a Page id, a Threads user id)
    token_hint: ClassVar[str]  # added to an authentication error: what to do about the token
    permission_hint: ClassVar[str]  # added to a permission error: what the token lacks

    def __init__(self, account: Account, credentials: Mapping[str, Secret], context: AdapterContext) -> None:
        super().__init__(account, credentials, context)
        options = self.account.options
        self.owner_id = str(options.get(self.owner_option) or "")
        if not self.owner_id:
            raise ConfigError(f"account {self.account.name!r}: option {self.owner_option} is not set")
        self.version = str(options.get("api_version") or self.default_version)
        self.token = self.credentials[self.token_name]
        self.http = Http(str(self.network), str(options.get("api_base") or self.api_base),
                         timeout=self.context.timeout, user_agent=self.context.user_agent,
                         secrets={self.token_name: self.token})

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One Graph call; its answer when it succeeded, else the sharebot error for what it said."""
        if method == "POST":
            kwargs["data"] = {**kwargs.get("data", {}), "access_token": self.token}
        else:
            kwargs["params"] = {**kwargs.get("params", {}), "access_token": hidden(self.token_name)}
        response = self.http.request(method, f"/{self.version}/{path}", **kwargs)
        body = json_body(response)
        if response.status_code < 300 and isinstance(body, dict) and not graph_error(body):
            return body
        raise self._error(method, response, body)

    def _error(self, method: str, response: httpx.Response, body: Any) -> PublishError:
        net, status = str(self.network), response.status_code
        error = graph_error(body)
        code, subcode = error.get("code"), error.get("error_subcode")
        message = error.get("error_user_msg") or error.get("message") or response.reason_phrase
        detail = self.http.detail(f"{message} (code {code}, subcode {subcode}, fbtrace_id {error.get('fbtrace_id')})")
        if code in AUTH_CODES or status == 401:
            return AuthError(net, f"{detail}: {self.token_hint}", status)
        if code in THROTTLE_CODES or status == 429:
            return RateLimited(net, detail, status, retry_after=usage_retry_after(response.headers))
        refusal = self._refusal(code, subcode, detail, status)
        if refusal is not None:
            return refusal
        if code in PERMISSION_CODES:
            return Rejected(net, f"{detail}: {self.permission_hint}", status)
        # Codes 1/2 ("unknown"/"temporary") and 5xx have left duplicates behind after the post was made.
        if code in TRANSIENT_CODES or status >= 500 or not error:
            return NotSent(net, detail, status) if method == "GET" else Unconfirmed(net, detail, status)
        return Rejected(net, detail, status)

    def _refusal(self, code: Any, subcode: Any, detail: str, status: int) -> PublishError | None:
        """The error for a code only this network uses (checked after auth and throttling), or None."""
        return None
