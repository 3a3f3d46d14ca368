"""What the commands print: library results laid out as text for people, or as JSON-ready data for scripts.

Pure: values in, strings out; only cli.py writes them. Imports stay light (a dry run imports this module),
so the library types are named for type checkers only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sharebot.models import Severity
from sharebot.scheduler import describe

if TYPE_CHECKING:
    from sharebot.adapters.base import AccountStatus
    from sharebot.app import (
        AccountLine,
        JobHistory,
        Planned,
        PublishReport,
        QueueListing,
        RetractReport,
        StatusReport,
        WorkerReport,
    )
    from sharebot.jobs import AccountFlag, Job, JobState
    from sharebot.lifecycle import Report as AnswerReport
    from sharebot.pipeline import Correction, Preview
    from sharebot.queue import RetractStep
    from sharebot.watch import WatchReport


def preview_text(preview: Preview, *, width: int = 100) -> str:
    """The dry run as the editor reads it: each post exactly as it will go out, with its measure and all
    around it, `width` columns wide."""
    import textwrap

    a = preview.article
    lines = [a.title, f"  {a.url}", f"  {a.language} · {a.section or 'no section'} · {len(a.tags)} tags"]
    lines += [f"  ! input-normalised: {note}" for note in a.notes] + [""]  # `sharebot.normalise`
    for post in preview.posts:
        status = "BLOCKED" if post.refused else "CANNOT POST" if post.blocked else "ok"
        head = f"── {post.account} ({post.network.value}) · {post.length}/{post.limit} {post.unit} · {status} "
        lines.append(head + "─" * max(0, width - len(head)))
        lines.extend(post.text.split("\n"))
        lines.append("")
        lines.append(f"  link      {post.link}")
        if post.card:
            c = post.card
            lines.append(f"  card      {c.title}")
            if c.description:  # wrapped, never shortened: the preview shows all that is sent
                lines += textwrap.wrap(c.description, width=width, initial_indent=" " * 12,
                                       subsequent_indent=" " * 12, break_long_words=False, break_on_hyphens=False)
            lines.append(f"            image: {c.image or 'none'}")
        lines.append(f"  language  {post.language}")
        if post.image and post.options.get("attach_image"):
            lines.append(f"  attached  {post.image} (alt: {post.image_alt or 'none'})")
        for key in ("visibility",):
            if post.options.get(key):
                lines.append(f"  {key:<9} {post.options[key]}")
        when = preview.times.get(post.account)
        if when is not None:
            lines.append(f"  when      {_when(when, preview)}")
        correction = preview.corrections.get(post.account)
        if correction is not None:
            lines.append(f"  queue     job {correction.job.id} holds an older post: {_held(correction.job)}")
            lines += [f"            {change}" for change in correction.changes]
        for f in post.facets:
            lines.append(f"  facet     {f.kind} bytes {f.byte_start}–{f.byte_end} → {f.value}")
        if post.share_url:
            lines.append(f"  share     {post.share_url}")
        for issue in post.issues:
            mark = "✗" if issue.severity is Severity.ERROR else "!"
            lines.append(f"  {mark} {issue.code}: {issue.message}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _when(when: datetime, preview: Preview) -> str:
    if preview.now is not None and when <= preview.now:
        return "now"
    return describe(when, preview.zone)


def _held(job: Job) -> str:
    """What becomes of a held job's older post. The queue's types load only here: a dry run without a queue
    never needs them."""
    from sharebot.jobs import JobState

    return "publish updates it" if job.state is JobState.QUEUED else _too_late(job.state)


def _too_late(state: JobState) -> str:
    from sharebot.jobs import JobState

    """Why a job's post was not corrected."""
    return {
        JobState.RUNNING: "not updated, it is being sent as it was",
        JobState.UNKNOWN: "not updated, it may have gone out as it was",
        JobState.PUBLISHED: "not updated, it went out as it was",
        JobState.DELETED: "not updated, it went out as it was and was deleted",
    }.get(state, f"not updated, it is {state}: a retry sends it as it was")


def publish_text(report: PublishReport) -> str:
    lines = [f"{report.article.slug} (round {report.round})"]
    for line in report.lines:
        note = " (earlier run)" if line.already else ""
        lines.append(f"  {line.account:<12} {line.network.value:<9} {line.state:<10}{note} "
                     f"{line.url or ''} {'' if line.url else line.detail}".rstrip())
        if line.correction is not None:
            lines += _correction_lines(line.correction)
    if report.waiting:
        lines.append(f"{len(report.waiting)} post(s) wait in the queue: `sharebot worker` (or `watch`) sends them "
                     "when due")
    return _text(lines)


def _correction_lines(correction: Correction, indent: str = "      ") -> list[str]:
    """The post's changes under its line, headed by whether the queue now holds the new post."""
    head = "post updated" if correction.updated else f"post {_too_late(correction.job.state)}"
    return [f"{indent}{head}:"] + [f"{indent}  {change}" for change in correction.changes]


def publish_json(report: PublishReport) -> dict[str, Any]:
    return {
        "article": report.article.slug,
        "round": report.round,
        "accounts": [{"account": d.account, "network": d.network.value, "state": d.state, "url": d.url,
                      "detail": d.detail, "job": d.job_id, "earlier_run": d.already,
                      "post_updated": d.correction.updated if d.correction else False,
                      "changes": list(d.correction.changes) if d.correction else []} for d in report.lines],
    }


def job_line(job: Job, zone: str = "UTC") -> str:
    """One job: id, account, state, round, when (in the site's `zone`: a queued job's planned time, else when it
    last changed), kind, the whole slug, and the post's URL or the last error."""
    where = job.remote_url or (job.last_error or "")
    when = f"due {describe(job.run_at, zone)}" if job.state.value == "queued" else describe(job.updated_at, zone)
    return (f"{job.id:>6}  {job.account:<12} {job.state.value:<9} r{job.round} {when:<30} {job_kind(job):<11} "
            f"{job.slug}  {where}").rstrip()


def local(when: datetime, zone: str) -> str:
    """`2026-12-01 08:00:05 CET`: to the second, in the site's zone."""
    from zoneinfo import ZoneInfo

    return f"{when.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M:%S %Z}"


def job_kind(job: Job) -> str:
    """"post", or what an edit or reply goes to: "edit of 12", "reply to 15"."""
    if job.parent_id is None:
        return job.kind.value
    return f"{job.kind.value} {'of' if job.kind.value == 'edit' else 'to'} {job.parent_id}"


def settle_hint(job: Job) -> str | None:
    """The command a person runs to settle a job that waits for them, or None."""
    if job.state.value != "attention":
        return None
    return f"         settle it: sharebot queue resolve {job.id} --posted URL [--remote-id ID]  |  --not-posted"


def jobs_text(jobs: list[Job], zone: str = "UTC") -> str:
    lines = []
    for job in jobs:
        lines.append(job_line(job, zone))
        hint = settle_hint(job)
        if hint:
            lines.append(hint)
        if job.retracted_at is not None and job.state.value == "published":
            lines.append(f"         retracted {describe(job.retracted_at, zone)} but still up: "
                         f"`sharebot retract {job.slug}` deletes it")
    return _text(lines)


def flag_line(flag: AccountFlag, zone: str = "UTC") -> str:
    return (f"account {flag.account} cannot post: flagged {describe(flag.at, zone)}: {flag.reason} "
            f"(change its credentials, or `sharebot accounts clear {flag.account}`)")


def status_text(report: StatusReport, zone: str = "UTC") -> str:
    return jobs_text(report.jobs, zone) + _text(flag_line(f, zone) for f in report.flags.values())


def queue_text(listing: QueueListing, zone: str = "UTC") -> str:
    counts = "  ".join(f"{state.value}: {n}" for state, n in listing.counts.items() if n)
    flags = _text(flag_line(f, zone) for f in listing.flags.values())
    return jobs_text(listing.jobs, zone) + (counts or "the queue is empty") + "\n" + flags


def history_text(history: JobHistory, zone: str = "UTC") -> str:
    job = history.job
    lines = [job_line(job, zone),
             f"  key {job.key[:16]}…  attempts {job.attempts}  planned for {local(job.run_at, zone)}",
             "  " + job.post.text.replace("\n", "\n  ")]
    if job.retracted_at is not None:
        lines.append(f"  article retracted {local(job.retracted_at, zone)}: never sent again")
    lines += [f"  {local(e.at, zone)}  {e.from_state or '-'} -> {e.to_state}  {e.reason}" for e in history.events]
    hint = settle_hint(job)
    if hint:
        lines.append(hint.strip())
    return _text(lines)


def retract_text(report: RetractReport) -> str:
    """One line per job (an account's, per round): what retract did, or with `done` False would do."""
    if not report.done:
        return retract_plan_text(report.slug, report.plan)
    rounds = len({step.job.round for step in report.plan}) > 1
    lines = []
    for r in report.results:
        who = f"{r.job.account} r{r.job.round}" if rounds else r.job.account
        lines.append(f"  {who:<12} {r.result.value}{': ' + r.detail if r.detail else ''}")
    return _text(lines)


def retract_plan_text(slug: str, plan: list[RetractStep]) -> str:
    rounds = len({step.job.round for step in plan}) > 1
    lines = [f"{slug}: retract would"]
    for step in plan:
        who = f"{step.job.account} r{step.job.round}" if rounds else step.job.account
        lines.append(f"  {who:<12} {step.action.value}: {step.detail}")
    return _text(lines)


def accounts_text(lines: list[AccountLine], zone: str = "UTC") -> str:
    out = []
    for line in lines:
        a = line.account
        creds = ", ".join(f"{k}: {v}" for k, v in line.credentials.items()) or "no credentials"
        out.append(f"{a.name:<12} {a.network.value:<9} {'enabled' if a.enabled else 'disabled':<8} {creds}")
        if line.flag is not None:
            out.append(f"{'':<12} FLAGGED {describe(line.flag.at, zone)}: {line.flag.reason} "
                       f"(change its credentials, or `sharebot accounts clear {a.name}`)")
        if line.missing:
            out.append(f"{'':<12} cannot post: not set: {', '.join(line.missing)}")
    return _text(out)


def worker_text(report: WorkerReport, zone: str = "UTC") -> str:
    ended = ", ".join(f"{n} {state.value}" for state, n in sorted(report.states.items()) if n)
    lines = [f"worker handled {report.handled} job(s)" + (f": {ended}" if ended else "")]
    for account, n in report.waiting.items():
        flag = report.flags.get(account)
        lines.append(f"{n} due job(s) wait: " + (flag_line(flag, zone) if flag else f"account {account} is flagged"))
    for account, (n, variables) in report.left.items():
        lines.append(f"{n} due job(s) wait: account {account} has no credentials here ({', '.join(variables)} not "
                     "set); a worker that has them posts them")
    return _text(lines)


def upcoming_text(plan: Mapping[str, list[Planned]], *, zone: str, hours: float | None = None) -> str:
    """What goes out when, per account, in local time; `hours`: the window the plan was asked for."""
    if not plan:
        return "nothing is planned" + (f" in the next {hours} h" if hours else "") + "\n"
    lines = []
    for account, posts in plan.items():
        lines.append(account)
        for job, due_now in posts:
            due = "due now" if due_now else describe(job.run_at, zone)
            lines.append(f"  {due:<26}  {job.slug}  (job {job.id})")
    return _text(lines)


def watch_text(report: WatchReport, *, zone: str) -> str:
    lines = [f"{source}: first look, {count} article(s) recorded as already there (not posted)"
             for source, count in report.recorded.items()]
    for item in report.enqueued:
        times = ", ".join(f"{account} {describe(t, zone)}" for account, t in item.times.items())
        lines.append(f"new: {item.article.slug}: {times or 'no account takes it'}")
        lines += [f"  {account}: {why}" for account, why in item.skipped.items()]
    for fixed in report.corrected:
        job = fixed.correction.job
        lines.append(f"changed: {fixed.article.slug}: {job.account} (job {job.id})")
        lines += _correction_lines(fixed.correction, indent="  ")
    lines += [f"{source}: {message} (will try again)" for source, message in report.errors.items()]
    lines += [f"{skipped.source}: skipped {skipped.item.reason} (tried again when it changes)"
              for skipped in report.skipped]
    lines += [f"{source}: {count} item(s) still skipped, unchanged since reported"
              for source, count in report.still_skipped.items()]
    return _text(lines)


def answer_text(report: AnswerReport, *, width: int = 100) -> str:
    """A correction or follow-up: per account what goes out (exactly), as an edit, a reply or nothing, and why;
    after a run, where each job stands."""
    head = f"{report.article.slug}: {report.purpose}" + ("" if report.sent else " (dry run: nothing is sent)")
    lines = [head, ""]
    for step in report.steps:
        post = step.post
        measure = f" · {post.length}/{post.limit} {post.unit}" if post else ""
        top = f"── {step.account} ({step.network.value}) · {step.action.value}{measure} "
        lines.append(top + "─" * max(0, width - len(top)))
        if post:
            lines += post.text.split("\n") + [""]
        lines.append(f"  why       {step.why}")
        if step.parent is not None and step.action.value != "skip":
            where = "post" if step.action.value == "edit" else "under"
            lines.append(f"  {where:<9} {step.parent.remote_url or step.parent.remote_id or ''} (job {step.parent.id})")
        if post and post.link and post.link not in post.text:
            lines.append(f"  link      {post.link}")
        for issue in post.issues if post else ():
            lines.append(f"  {'✗' if issue.severity is Severity.ERROR else '!'} {issue.code}: {issue.message}")
        if step.job is not None and report.sent and step.action.value != "skip":
            job = step.job
            lines.append(f"  job {job.id:<5} {job.state.value} {job.remote_url or job.last_error or ''}".rstrip())
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _text(lines: Iterable[str]) -> str:
    return "".join(line + "\n" for line in lines)


def checks_text(results: Iterable[AccountStatus]) -> str:
    """`accounts check`: each account's credential check, one line each."""
    return _text(f"{r.account:<12} {r.state:<10} {r.detail}" for r in results)
