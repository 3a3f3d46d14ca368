"""What `--json` prints: one schema for every command, documented in docs/json.md.

Every document is an object with `schema` (SCHEMA: changes only when a field is removed or changes meaning)
and `kind` (one of KINDS), then the kind's fields. A command prints one document; `worker` and `watch` print
one document per line, one per event. Times are ISO 8601 in UTC; `timezone` names the site's zone where a
document has times, so a reader can show them as the text output does.

Pure, like output.py: values in, JSON-ready data out; light imports, as a dry run with `--json` loads it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the library's types, named for type checkers only
    from sharebot import app, jobs, lifecycle, pipeline, setup_site, watch, worker
    from sharebot import doctor as doctor_
    from sharebot import links as share_links
    from sharebot import queue as queue_ops
    from sharebot.adapters.base import AccountStatus

SCHEMA = "sharebot-json/1"

# Every kind of document, and the command that prints it (docs/json.md has a section for each).
KINDS: Mapping[str, str] = {
    "publish.dry-run": "publish --dry-run",
    "publish": "publish",
    "links": "links",
    "status": "status",
    "queue": "queue",
    "queue.show": "queue show",
    "queue.changed": "queue retry | cancel | resolve",
    "queue.upcoming": "queue --upcoming",
    "queue.prune": "queue prune",
    "retract": "retract",
    "correct": "correct",
    "follow-up": "follow-up",
    "accounts": "accounts",
    "accounts.check": "accounts check",
    "accounts.clear": "accounts clear",
    "worker.outcome": "worker, watch (a line per job settled)",
    "worker.done": "worker, watch (a line per worker run)",
    "watch.poll": "watch (a line per poll)",
    "watch.enqueued": "watch (a line per new article)",
    "watch.corrected": "watch (a line per queued post corrected)",
    "doctor": "doctor",
    "init": "init",
}


def document(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    if kind not in KINDS:
        raise ValueError(f"unknown JSON kind {kind!r}")
    return {"schema": SCHEMA, "kind": kind, **data}


def dumps(doc: Mapping[str, Any], *, line: bool = False) -> str:
    """Indented for a person reading a document; one line each for JSON lines."""
    if line:
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(doc, ensure_ascii=False, indent=2)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def job(j: jobs.Job) -> dict[str, Any]:
    return {
        "id": j.id, "slug": j.slug, "account": j.account, "network": str(j.network), "kind": str(j.kind),
        "parent": j.parent_id, "round": j.round, "state": str(j.state), "attempts": j.attempts,
        "run_at": _time(j.run_at), "updated_at": _time(j.updated_at), "url": j.remote_url,
        "remote_id": j.remote_id, "error": j.last_error, "retracted_at": _time(j.retracted_at),
    }


def flag(f: jobs.AccountFlag) -> dict[str, Any]:
    return {"account": f.account, "reason": f.reason, "at": _time(f.at)}


def _states(counts: Mapping[jobs.JobState, int]) -> dict[str, int]:
    return {str(state): n for state, n in counts.items()}


# --- one document per command ------------------------------------------------------------------------------
def dry_run(preview: pipeline.Preview) -> dict[str, Any]:
    return document("publish.dry-run", {"timezone": preview.zone, **preview.to_dict()})


def publish(report: app.PublishReport, data: Mapping[str, Any]) -> dict[str, Any]:
    """`data`: output.publish_json's fields, kept as they were before the envelope."""
    return document("publish", {**data, "exit": int(report.exit)})


def links(article: str, found: Iterable[share_links.ShareLink]) -> dict[str, Any]:
    return document("links", {"article": article, "links": [
        {"network": str(s.network), "label": s.label, "url": s.url} for s in found]})


def status(slug: str, report: app.StatusReport, *, zone: str) -> dict[str, Any]:
    return document("status", {"slug": slug, "timezone": zone, "exit": int(report.exit),
                               "jobs": [job(j) for j in report.jobs],
                               "flags": [flag(f) for f in report.flags.values()]})


def queue(listing: app.QueueListing, *, zone: str) -> dict[str, Any]:
    return document("queue", {"timezone": zone, "jobs": [job(j) for j in listing.jobs],
                              "counts": _states(listing.counts), "flags": [flag(f) for f in listing.flags.values()]})


def queue_show(history: app.JobHistory, *, zone: str) -> dict[str, Any]:
    j = history.job
    return document("queue.show", {
        "timezone": zone, "job": {**job(j), "key": j.key, "text": j.post.text, "link": j.post.link},
        "events": [{"at": _time(e.at), "from": str(e.from_state) if e.from_state else None, "to": str(e.to_state),
                    "reason": e.reason} for e in history.events]})


def queue_changed(action: str, j: jobs.Job, *, zone: str) -> dict[str, Any]:
    return document("queue.changed", {"action": action, "timezone": zone, "job": job(j)})


def upcoming(plan: Mapping[str, list[app.Planned]], *, zone: str, within: timedelta | None) -> dict[str, Any]:
    return document("queue.upcoming", {
        "timezone": zone, "hours": within / timedelta(hours=1) if within else None,
        "accounts": [{"account": account, "posts": [
            {"job": p.job.id, "slug": p.job.slug, "kind": str(p.job.kind), "run_at": _time(p.job.run_at),
             "due_now": p.due_now} for p in posts]} for account, posts in plan.items()]})


def prune(report: queue_ops.PruneReport) -> dict[str, Any]:
    return document("queue.prune", {"dry_run": report.dry_run, "before": _time(report.before),
                                    "jobs": _states(report.jobs), "events": report.events, "more": report.more})


def retract(report: app.RetractReport) -> dict[str, Any]:
    return document("retract", {
        "slug": report.slug, "done": report.done, "exit": int(report.exit),
        "plan": [{"job": s.job.id, "account": s.job.account, "round": s.job.round, "action": str(s.action),
                  "detail": s.detail} for s in report.plan],
        "results": [{"job": r.job.id, "account": r.job.account, "round": r.job.round, "result": str(r.result),
                     "detail": r.detail} for r in report.results]})


def answer(command: str, report: lifecycle.Report) -> dict[str, Any]:
    """`correct` or `follow-up` (also their dry runs)."""
    return document(command, {**report.to_dict(), "exit": int(report.exit)})


def accounts(lines: Iterable[app.AccountLine]) -> dict[str, Any]:
    return document("accounts", {"accounts": [
        {"account": line.account.name, "network": str(line.account.network), "enabled": line.account.enabled,
         "credentials": dict(line.credentials), "missing": list(line.missing),
         "flag": flag(line.flag) if line.flag is not None else None} for line in lines]})


def account_checks(results: Iterable[AccountStatus]) -> dict[str, Any]:
    return document("accounts.check", {"accounts": [
        {"account": r.account, "state": str(r.state), "detail": r.detail} for r in results]})


def account_cleared(name: str, cleared: bool) -> dict[str, Any]:
    return document("accounts.clear", {"account": name, "cleared": cleared})


# --- JSON lines: worker and watch --------------------------------------------------------------------------
def worker_outcome(o: worker.Outcome) -> dict[str, Any]:
    return document("worker.outcome", {"job": o.job_id, "slug": o.slug, "account": o.account,
                                       "state": str(o.state) if o.state is not None else None,
                                       "detail": o.detail, "url": o.url})


def worker_done(report: app.WorkerReport) -> dict[str, Any]:
    return document("worker.done", {"handled": report.handled, "states": _states(report.states),
                                    "waiting": dict(report.waiting),
                                    "no_credentials": {a: {"due": n, "unset": list(v)}
                                                       for a, (n, v) in report.left.items()},
                                    "exit": int(report.exit),
                                    "flags": [flag(f) for f in report.flags.values()]})


def watch_events(report: watch.WatchReport) -> list[dict[str, Any]]:
    """One poll: a line per new article and per corrected post, then the poll's summary."""
    docs = [document("watch.enqueued", {
        "source": item.source, "slug": item.article.slug, "url": item.article.url,
        "times": {account: _time(t) for account, t in item.times.items()}, "skipped": dict(item.skipped),
        "blocked": dict(item.blocked)}) for item in report.enqueued]
    docs += [document("watch.corrected", {
        "source": fixed.source, "slug": fixed.article.slug, "account": fixed.correction.job.account,
        "job": fixed.correction.job.id, "updated": fixed.correction.updated,
        "changes": list(fixed.correction.changes)}) for fixed in report.corrected]
    docs.append(document("watch.poll", {
        "recorded": dict(report.recorded), "enqueued": len(report.enqueued), "corrected": len(report.corrected),
        "errors": dict(report.errors),
        "skipped": [{"source": s.source, "where": s.item.where, "reason": s.item.reason} for s in report.skipped],
        "still_skipped": dict(report.still_skipped)}))
    return docs


def doctor(report: doctor_.DoctorReport) -> dict[str, Any]:
    return document("doctor", report.to_dict())


def init(result: setup_site.InitResult) -> dict[str, Any]:
    return document("init", {"config": str(result.config), "env": str(result.env), "accounts": list(result.accounts),
                             "variables": list(result.variables)})
