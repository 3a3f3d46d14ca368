"""The least a Bluesky post takes: createSession, then createRecord, over plain XRPC with the standard library.

Usage: XRPC_PASSWORD=… python bench/xrpc_post.py PDS_URL HANDLE TEXT   (the baseline of bench_cold_publish.py)
"""

import json
import os
import sys
import urllib.request
from datetime import UTC, datetime


def call(url: str, body: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    request = urllib.request.Request(url, json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.load(response)


def main(pds: str, handle: str, text: str) -> None:
    session = call(f"{pds}/xrpc/com.atproto.server.createSession",
                   {"identifier": handle, "password": os.environ["XRPC_PASSWORD"]})
    record = {"$type": "app.bsky.feed.post", "text": text,
              "createdAt": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    made = call(f"{pds}/xrpc/com.atproto.repo.createRecord",
                {"repo": session["did"], "collection": "app.bsky.feed.post", "record": record}, session["accessJwt"])
    print(made["uri"])


if __name__ == "__main__":
    main(*sys.argv[1:4])
