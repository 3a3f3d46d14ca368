"""The local Bluesky PDS for tests: find it (or start it), make accounts, and put a fault-injecting proxy in front.

The PDS is started by /work/shared/pds/start-pds.sh, which writes `pds.env` (PDS_URL, PDS_ADMIN_PASSWORD).
Tests read that file from $SHAREBOT_PDS_ENV, else $SHAREBOT_PDS_DIR/pds.env, else ~/.cache/sharebot-pds/pds.env.
`python tests/pds.py` starts the PDS if none answers and prints the env file's path (for CI).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fakes.base import FakeAPI, Request, Response

SHARED = Path(os.environ.get("SHAREBOT_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))


@dataclass(frozen=True)
class PDS:
    url: str
    admin_password: str

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)


@dataclass(frozen=True)
class PDSAccount:
    handle: str
    did: str
    password: str
    app_password: str


def env_file() -> Path:
    if os.environ.get("SHAREBOT_PDS_ENV"):
        return Path(os.environ["SHAREBOT_PDS_ENV"])
    directory = os.environ.get("SHAREBOT_PDS_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sharebot-pds"
    return Path(directory) / "pds.env"


def find_pds() -> tuple[PDS | None, str]:
    """The running PDS, or None and why not (for pytest.skip)."""
    path = env_file()
    try:
        values = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    except OSError:
        return None, f"no PDS env file at {path}: run /work/shared/pds/start-pds.sh or `python tests/pds.py`"
    url, admin = values.get("PDS_URL", "").strip(), values.get("PDS_ADMIN_PASSWORD", "").strip()
    if not url:
        return None, f"{path} has no PDS_URL"
    try:
        httpx.get(f"{url}/xrpc/_health", timeout=3).raise_for_status()
    except httpx.HTTPError as exc:
        return None, f"the PDS at {url} (from {path}) does not answer: {type(exc).__name__}"
    return PDS(url, admin), ""


def start_pds() -> PDS:
    """Find the PDS, starting it with the shared script when none answers."""
    pds, _ = find_pds()
    if pds:
        return pds
    script = SHARED / "pds" / "start-pds.sh"
    directory = env_file().parent
    subprocess.run([str(script), str(directory)], check=True, stdout=subprocess.DEVNULL)
    pds, reason = find_pds()
    if not pds:
        raise RuntimeError(reason)
    return pds


def create_account(pds: PDS, prefix: str = "sb") -> PDSAccount:
    """A fresh account with an app password (what sharebot is configured with)."""
    handle = f"{prefix}{uuid.uuid4().hex[:10]}.test"
    password = f"pw-{uuid.uuid4().hex}"
    body: dict[str, Any] = {"handle": handle, "email": f"{handle}@example.com", "password": password}
    with pds.http() as http:
        if http.get("/xrpc/com.atproto.server.describeServer").json().get("inviteCodeRequired"):
            code = http.post("/xrpc/com.atproto.server.createInviteCode", json={"useCount": 1},
                             auth=("admin", pds.admin_password))
            body["inviteCode"] = code.raise_for_status().json()["code"]
        made = http.post("/xrpc/com.atproto.server.createAccount", json=body)
        assert made.status_code == 200, made.text
        auth = {"Authorization": f"Bearer {made.json()['accessJwt']}"}
        app = http.post("/xrpc/com.atproto.server.createAppPassword", json={"name": "sharebot"}, headers=auth)
        assert app.status_code == 200, app.text
    return PDSAccount(handle, made.json()["did"], password, app.json()["password"])


def get_record(pds: PDS, did: str, rkey: str) -> dict[str, Any] | None:
    """The stored record as the PDS returns it over plain XRPC, or None."""
    with pds.http() as http:
        r = http.get("/xrpc/com.atproto.repo.getRecord",
                     params={"repo": did, "collection": "app.bsky.feed.post", "rkey": rkey})
    if r.status_code == 400 and r.json().get("error") == "RecordNotFound":
        return None
    r.raise_for_status()
    return r.json()


def list_rkeys(pds: PDS, did: str) -> list[str]:
    with pds.http() as http:
        r = http.get("/xrpc/com.atproto.repo.listRecords",
                     params={"repo": did, "collection": "app.bsky.feed.post", "limit": 100})
    return [record["uri"].rsplit("/", 1)[-1] for record in r.raise_for_status().json()["records"]]


def get_blob(pds: PDS, did: str, cid: str) -> bytes:
    with pds.http() as http:
        return http.get("/xrpc/com.atproto.sync.getBlob", params={"did": did, "cid": cid}).raise_for_status().content


_HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding", "host"}


class PDSProxy(FakeAPI):
    """Forwards every XRPC call to the real PDS, so FakeAPI's faults (fail_next, drop_next with after=True,
    delays) land between sharebot and a real server, and `requests` shows which calls were made."""

    def __init__(self, pds: PDS) -> None:
        super().__init__()
        self.pds = pds
        self._upstream = httpx.Client(base_url=pds.url, timeout=30)
        self._after: list[tuple[str, Callable[[], None]]] = []
        for method in ("GET", "POST"):
            self.route(method, r"/xrpc/.+", self._forward)

    def after(self, nsid: str, action: Callable[[], None]) -> None:
        """Run `action` once, right after the next `nsid` call reached the PDS (e.g. to queue a later fault)."""
        self._after.append((nsid, action))

    def calls(self, nsid: str) -> int:
        return sum(1 for r in self.requests if r.path == f"/xrpc/{nsid}")

    def stop(self) -> None:
        super().stop()
        self._upstream.close()

    def _forward(self, req: Request, _match: Any) -> Response:
        headers = {k: v for k, v in req.headers.items() if k not in _HOP_HEADERS}
        query = [(k, v) for k, values in req.query.items() for v in values]
        up = self._upstream.request(req.method, req.path, params=query, content=req.body, headers=headers)
        for pending in [p for p in self._after if req.path == f"/xrpc/{p[0]}"]:
            self._after.remove(pending)
            pending[1]()
        out = {k: v for k, v in up.headers.items() if k.lower() not in _HOP_HEADERS}
        body = up.content
        if up.headers.get("content-type", "").startswith("application/json") and b'"didDoc"' in body:
            # A session's DID document names the PDS URL; the SDK would switch to it and bypass the proxy.
            body = body.replace(self.pds.url.encode(), self.url.encode())
            body = body.replace(self.pds.url.replace("127.0.0.1", "localhost").encode(), self.url.encode())
        return Response(up.status_code, body, out)


if __name__ == "__main__":
    start_pds()
    print(env_file())
