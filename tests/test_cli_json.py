"""`--json` on every command: one schema with a version (docs/json.md), a document per command, JSON lines for
worker and watch; and every kind the code prints is documented."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cli_support import Result
from cli_support import in_room as sharebot
from cli_support import sharebot as run_sharebot
from conftest import ROOT
from standins import Newsroom

from sharebot.jsonout import KINDS, SCHEMA

SLUG = "putin-xi-videogespraech-partnerschaft"
OTHER = "zweiter-artikel"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def room(newsroom: Newsroom, tmp_path: Path) -> Newsroom:
    newsroom.write_site(tmp_path, [SLUG, OTHER])
    newsroom.write_config(tmp_path)
    return newsroom


def document(result: Result, kind: str) -> dict[str, Any]:
    doc = json.loads(result.stdout)
    assert doc["schema"] == SCHEMA and doc["kind"] == kind, doc
    return doc


def lines(result: Result) -> list[dict[str, Any]]:
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert docs and all(d["schema"] == SCHEMA and d["kind"] in KINDS for d in docs), docs
    return docs


def test_every_kind_is_documented_and_every_documented_kind_exists():
    documented = re.findall(r"^### `([\w.-]+)`$", (ROOT / "docs" / "json.md").read_text(encoding="utf-8"), re.M)
    assert sorted(documented) == sorted(KINDS)
    assert SCHEMA in (ROOT / "docs" / "json.md").read_text(encoding="utf-8")


def test_dry_run_keeps_its_fields_under_the_envelope(room: Newsroom):
    doc = document(sharebot(room, "publish", SLUG, "--dry-run", "--json", "--network", "mastodon"),
                   "publish.dry-run")
    assert doc["article"]["slug"] == SLUG and [p["account"] for p in doc["posts"]] == ["mastodon"]
    assert doc["timezone"] == "Europe/Berlin" and doc["posts"][0]["scheduled_at"]


def test_the_queue_commands(room: Newsroom):
    published = document(sharebot(room, "publish", SLUG, "--network", "mastodon", "--json"), "publish")
    assert [(a["account"], a["state"]) for a in published["accounts"]] == [("mastodon", "published")]
    assert published["exit"] == 0 and published["round"] == 1
    later = document(sharebot(room, "publish", OTHER, "--network", "telegram", "--at", "+2h", "--json"), "publish")
    job_id = later["accounts"][0]["job"]

    status = document(sharebot(room, "status", SLUG, "--json"), "status")
    [job] = status["jobs"]
    assert job["state"] == "published" and job["url"] and job["slug"] == SLUG and status["exit"] == 0

    listing = document(sharebot(room, "queue", "--json"), "queue")
    assert {j["slug"] for j in listing["jobs"]} == {SLUG, OTHER}
    assert listing["counts"]["published"] == 1 and listing["counts"]["queued"] == 1

    shown = document(sharebot(room, "queue", "show", str(job_id), "--json"), "queue.show")
    assert shown["job"]["run_at"] == "2026-11-25T11:00:00+00:00" and shown["job"]["text"]
    assert [e["to"] for e in shown["events"]] == ["queued"]

    upcoming = document(sharebot(room, "queue", "--upcoming", "--json"), "queue.upcoming")
    assert upcoming["accounts"] == [{"account": "telegram", "posts": [
        {"job": job_id, "slug": OTHER, "kind": "post", "run_at": "2026-11-25T11:00:00+00:00", "due_now": False}]}]

    canceled = document(sharebot(room, "queue", "cancel", str(job_id), "--json"), "queue.changed")
    assert canceled["action"] == "cancel" and canceled["job"]["state"] == "canceled"
    again = document(sharebot(room, "queue", "retry", str(job_id), "--json"), "queue.changed")
    assert again["job"]["state"] == "queued"

    pruned = document(sharebot(room, "queue", "prune", "--older-than", "90d", "--dry-run", "--json"), "queue.prune")
    assert pruned["dry_run"] is True and pruned["before"] == "2026-08-27T09:00:00+00:00"

    plan = document(sharebot(room, "retract", SLUG, "--dry-run", "--json"), "retract")
    assert plan["done"] is False and [s["action"] for s in plan["plan"]] == ["delete"] and plan["results"] == []
    done = document(sharebot(room, "retract", SLUG, "--yes", "--json"), "retract")
    assert [r["result"] for r in done["results"]] == ["deleted"] and done["exit"] == 0


def test_worker_prints_a_json_line_per_job_and_one_when_done(room: Newsroom):
    sharebot(room, "publish", SLUG, "--network", "mastodon,telegram", "--at", "+1h")
    room.clock.advance(2 * 3600)
    docs = lines(sharebot(room, "worker", "--burst", "--json"))
    outcomes = [d for d in docs if d["kind"] == "worker.outcome"]
    assert sorted((d["account"], d["state"]) for d in outcomes) == [("mastodon", "published"),
                                                                    ("telegram", "published")]
    assert docs[-1]["kind"] == "worker.done" and docs[-1]["handled"] == 2 and docs[-1]["exit"] == 0


def test_watch_prints_json_lines_per_article_and_poll(room: Newsroom):
    result = sharebot(room, "watch", "--once", "--backfill", "1", "--json")
    assert result.exit_code == 0, result.output
    docs = lines(result)
    kinds = [d["kind"] for d in docs]
    assert kinds[0] == "watch.enqueued" and "watch.poll" in kinds and kinds[-1] == "worker.done"
    poll = docs[kinds.index("watch.poll")]
    assert poll["enqueued"] == 1 and sum(poll["recorded"].values()) == 1
    assert docs[0]["times"] and all(t.endswith("+00:00") for t in docs[0]["times"].values())


def test_accounts_links_and_answers(room: Newsroom):
    accounts = document(sharebot(room, "accounts", "--json"), "accounts")
    mastodon = next(a for a in accounts["accounts"] if a["account"] == "mastodon")
    token = room.env()["SHAREBOT_MASTODON_ACCESS_TOKEN"]
    assert mastodon["flag"] is None and mastodon["missing"] == [] and token not in json.dumps(accounts)
    checks = document(sharebot(room, "accounts", "check", "--json"), "accounts.check")
    assert {c["account"]: c["state"] for c in checks["accounts"]}["mastodon"] == "ok"
    cleared = document(sharebot(room, "accounts", "clear", "mastodon", "--json"), "accounts.clear")
    assert cleared == {"schema": SCHEMA, "kind": "accounts.clear", "account": "mastodon", "cleared": False}
    links = document(sharebot(room, "links", SLUG, "--json"), "links")
    assert any(link["url"].startswith("https://wa.me/") for link in links["links"])

    sharebot(room, "publish", SLUG, "--network", "mastodon")
    correction = document(sharebot(room, "correct", SLUG, "--dry-run", "--json"), "correct")
    assert correction["purpose"] == "correction" and correction["sent"] is False
    update = document(sharebot(room, "follow-up", SLUG, "--text", "Neu: mehr dazu", "--dry-run", "--json"),
                      "follow-up")
    assert {a["account"]: a["action"] for a in update["accounts"]}["mastodon"] == "reply"


def test_json_before_the_command_and_a_failure_keeps_stdout_json(room: Newsroom):
    result = sharebot(room, "--json", "status", "gibt-es-nicht")
    assert result.exit_code == 1 and result.stdout == "" and result.stderr.count("\n") == 1
    result = run_sharebot("--json", "status", SLUG, "--config", str(room.config), env=room.env(), now=room.clock())
    assert result.exit_code == 1 and "nothing queued" in result.stderr  # --config after the command is taken


def test_resolve_reports_the_settled_job(room: Newsroom):
    room.telegram.drop_next(method="POST", after=True)  # sent, but the answer is lost: telegram cannot look
    doubt = document(sharebot(room, "publish", SLUG, "--network", "telegram", "--json"), "publish")
    [line] = doubt["accounts"]
    assert line["state"] in ("unknown", "attention") and doubt["exit"] == 4
    settled = document(sharebot(room, "queue", "resolve", str(line["job"]), "--posted", "https://t.me/sharebot_news/7",
                                "--json"), "queue.changed")
    assert settled["action"] == "resolve" and settled["job"]["state"] == "published"
    assert settled["job"]["url"] == "https://t.me/sharebot_news/7"
