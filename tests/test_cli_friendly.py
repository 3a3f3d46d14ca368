"""The command as a person meets it: times in the site's zone and whole slugs, colour only on a terminal and
never with NO_COLOR, -v/-q and SHAREBOT_LOG_LEVEL with logs on stderr, global options after the command, help
for every argument, shell completion, .env beside the config, and progress for long work."""

from __future__ import annotations

import argparse
import io
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_support import in_room as sharebot
from cli_support import sharebot as run_sharebot
from conftest import EXAMPLE_CONFIG
from standins import Newsroom
from test_config import MINIMAL, write

from sharebot import app
from sharebot.cli import COMMANDS, build_parser, main
from sharebot.config import load_settings
from sharebot.progress import Progress, Stage
from sharebot.terminal import ProgressLine, paint
from sharebot.watch import watch_once

SLUG = "putin-xi-videogespraech-partnerschaft"
LONG = "ein-sehr-langer-artikelname-der-weit-ueber-achtunddreissig-zeichen-hinausgeht"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
RED, YELLOW, GREEN = "\x1b[31m", "\x1b[33m", "\x1b[32m"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def room(newsroom: Newsroom, tmp_path: Path) -> Newsroom:
    newsroom.write_site(tmp_path, [SLUG, LONG])
    newsroom.write_config(tmp_path)
    return newsroom


def on_terminal(room: Newsroom, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = Terminal(), Terminal()
    code = main(["--config", str(room.config), *args], environ={**room.env(), **(env or {})}, stdout=out,
                stderr=err, clock=room.clock)
    return code, out.getvalue(), err.getvalue()


# --- times and slugs -----------------------------------------------------------------------------------
def test_queue_and_status_show_the_planned_time_in_the_site_zone_and_the_whole_slug(room: Newsroom):
    assert sharebot(room, "publish", LONG, "--network", "mastodon", "--at", "+2h").exit_code == 0
    for args in (("queue",), ("status", LONG)):
        text = sharebot(room, *args).stdout
        assert "due Wed 2026-11-25 12:00 CET" in text and LONG in text, text  # 11:00 UTC
    shown = sharebot(room, "queue", "show", "1").stdout
    assert "planned for 2026-11-25 12:00:00 CET" in shown and "2026-11-25 10:00:00 CET  - -> queued" in shown


# --- colour --------------------------------------------------------------------------------------------
def test_colour_only_on_a_terminal_and_never_with_no_color(room: Newsroom):
    code, out, _ = on_terminal(room, "publish", SLUG, "--dry-run", env={"SHAREBOT_THREADS_ACCESS_TOKEN": ""})
    assert code == 3
    assert f"{GREEN}ok\x1b[0m" in out and f"{RED}CANNOT POST\x1b[0m" in out
    _, plain, _ = on_terminal(room, "publish", SLUG, "--dry-run", env={"NO_COLOR": "1"})
    assert "\x1b[" not in plain
    assert "\x1b[" not in sharebot(room, "publish", SLUG, "--dry-run").stdout  # a pipe
    _, doc, _ = on_terminal(room, "publish", SLUG, "--dry-run", "--json")
    assert "\x1b[" not in doc


def test_paint_marks_states_issues_and_flags_but_not_a_posts_text():
    text = ("── x (x) · 120/280 chars · BLOCKED ───\n"
            "Everything failed and nothing is ok\n"
            "\n"
            "  ✗ too-long: 300/280\n"
            "  ! no-image: the article has no image\n"
            "     7  mastodon     failed    r1 Wed 2026-11-25 10:00 CET  post  slug  boom\n"
            "     8  telegram     attention r1 Wed 2026-11-25 10:00 CET  post  slug\n"
            "  mastodon     published\n"
            "mastodon     ok         works\n"
            "Everything ok now\n")
    lines = paint(text).split("\n")
    del lines[2]  # the blank line after the post's text
    assert lines[0] == f"── x (x) · 120/280 chars · {RED}BLOCKED\x1b[0m ───"
    assert lines[1] == "Everything failed and nothing is ok"
    assert lines[2].startswith(RED) and lines[3].startswith(YELLOW)
    assert f"{RED}failed\x1b[0m" in lines[4] and f"{YELLOW}attention\x1b[0m" in lines[5]
    assert lines[6] == f"  mastodon     {GREEN}published\x1b[0m"
    assert lines[7] == f"mastodon     {GREEN}ok\x1b[0m         works" and lines[8] == "Everything ok now"


# --- logging -------------------------------------------------------------------------------------------
def test_logs_go_to_stderr_at_the_level_asked_and_http_requests_only_with_vv(room: Newsroom):
    # publish reports on stdout and logs warnings only; -v adds what each job does, -vv each HTTP request
    result = sharebot(room, "publish", SLUG, "--network", "telegram")
    assert result.exit_code == 0 and result.stderr == "" and "telegram" in result.stdout
    told = sharebot(room, "publish", SLUG, "--network", "telegram", "--repost", "-v")
    assert "queued -> running" in told.stderr and "HTTP Request" not in told.stderr
    assert "queued -> running" not in told.stdout
    assert "queued -> running" in sharebot(room, "publish", SLUG, "--network", "telegram", "--repost",
                                           env={"SHAREBOT_LOG_LEVEL": "INFO"}).stderr
    loud = sharebot(room, "-vv", "publish", SLUG, "--network", "telegram", "--repost")
    assert "HTTP Request: POST" in loud.stderr
    # worker and watch log what each job does (their record), without the HTTP client's line per request
    sharebot(room, "publish", LONG, "--network", "telegram", "--at", "+1h")
    room.clock.advance(2 * 3600)
    worker = sharebot(room, "worker", "--burst")
    assert "queued -> running" in worker.stderr and "HTTP Request" not in worker.stderr
    sharebot(room, "publish", LONG, "--network", "telegram", "--repost", "--at", "+1h")
    room.clock.advance(2 * 3600)
    quiet = sharebot(room, "worker", "--burst", "-q")
    assert quiet.exit_code == 0 and "handled 1 job" in quiet.stdout and quiet.stderr == ""


def test_a_bad_log_level_is_one_line():
    result = run_sharebot("--config", str(EXAMPLE_CONFIG), "publish", SLUG, "--dry-run",
                          env={"SHAREBOT_LOG_LEVEL": "loud"})
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == ("sharebot: SHAREBOT_LOG_LEVEL: 'loud' is not a level; one of debug, info, warning, "
                             "error, critical\n")


# --- options, help, completion ---------------------------------------------------------------------------
def test_global_options_after_the_command(room: Newsroom):
    before = run_sharebot("--config", str(room.config), "publish", SLUG, "--dry-run", env=room.env(), now=NOW)
    after = run_sharebot("publish", SLUG, "--dry-run", "--config", str(room.config), "-v", env=room.env(), now=NOW)
    assert after.exit_code == before.exit_code == 0 and after.stdout == before.stdout
    shown = run_sharebot("queue", "--config", str(room.config), "show", "1", "--json", env=room.env(), now=NOW)
    assert shown.exit_code == 1 and "1" in shown.stderr and shown.stdout == ""  # parsed; no such job yet


def parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from parsers(sub)


def test_every_argument_and_option_has_help():
    missing = [(p.prog, a.dest) for p in parsers(build_parser()) for a in p._actions
               if not isinstance(a, argparse._HelpAction) and not (a.help or "").strip()]
    assert missing == []


def test_the_help_check_sees_a_bare_positional():
    parser = argparse.ArgumentParser()
    parser.add_argument("thing")
    assert [a.dest for a in parser._actions if not isinstance(a, argparse._HelpAction) and not a.help] == ["thing"]


def test_bash_completion_names_every_command():
    out, err = io.StringIO(), io.StringIO()
    assert main(["completion", "bash"], environ={}, stdout=out, stderr=err) == 0, err.getvalue()
    script = out.getvalue()
    assert script.rstrip().endswith(" sharebot") and "\ncomplete " in script  # `complete … sharebot`
    for command in COMMANDS:
        assert command in script, command
    assert "--older-than" in script and "--backfill" in script


# --- .env -----------------------------------------------------------------------------------------------
def test_dotenv_beside_the_config_wins_over_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    site.mkdir()
    elsewhere.mkdir()
    config = write(site, MINIMAL + "[accounts.other]\nnetwork = \"mastodon\"\ninstance = \"https://o.example\"\n")
    (site / ".env").write_text("SHAREBOT_MASTO_ACCESS_TOKEN=beside-config\n")
    (elsewhere / ".env").write_text("SHAREBOT_MASTO_ACCESS_TOKEN=from-cwd\nSHAREBOT_OTHER_ACCESS_TOKEN=only-cwd\n")
    monkeypatch.chdir(elsewhere)
    settings = load_settings(config, {})
    assert settings.credentials(settings.account("masto"))["access_token"] == "beside-config"
    assert settings.credentials(settings.account("other"))["access_token"] == "only-cwd"
    settings = load_settings(config, {"SHAREBOT_MASTO_ACCESS_TOKEN": "from-env"})
    assert settings.credentials(settings.account("masto"))["access_token"] == "from-env"
    # a cron job in another directory, config named by SHAREBOT_CONFIG in the environment
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, {"SHAREBOT_CONFIG": str(config)})
    assert settings.credentials(settings.account("masto"))["access_token"] == "beside-config"


# --- progress -------------------------------------------------------------------------------------------
def test_watch_and_worker_report_progress_through_the_callback(room: Newsroom):
    settings = load_settings(room.config, room.env(), dotenv_path=room.config.parent / "none")
    store = app.open_queue(settings)
    events: list[Progress] = []
    report = watch_once(settings, store, now=room.clock(), backfill=2, progress=events.append)
    assert len(report.enqueued) == 2
    assert [(e.stage, e.done, e.total) for e in events if e.stage is Stage.ENQUEUE] == [
        (Stage.ENQUEUE, 0, 2), (Stage.ENQUEUE, 1, 2)]
    assert events[0] == Progress(Stage.POLL, 0, 1, f"content:{settings.source.location}")
    assert events[-1] == Progress(Stage.POLL, 1, 1, "")
    posted: list[Progress] = []
    adapters = app.Adapters(settings)
    try:
        app.run_worker(settings, store=store, adapters=adapters, clock=room.clock, owner="test", concurrency=2,
                       burst=True, stop=threading.Event(), on_progress=posted.append)
    finally:
        adapters.close()
        store.close()
    due = sum(len(item.times) for item in report.enqueued if all(t <= room.clock() for t in item.times.values()))
    assert [p.done for p in posted] == list(range(1, len(posted) + 1)) and len(posted) >= due
    assert all(p.stage is Stage.POST and p.total is None for p in posted)


def test_the_progress_line_redraws_and_clears_itself():
    stream = io.StringIO()
    line = ProgressLine(stream, width=4)
    line(Progress(Stage.ENQUEUE, 1, 4, "content:x"))
    line(Progress(Stage.POST, 3, None, "mastodon published"))
    line(Progress(Stage.ENQUEUE, 4, 4, ""))
    assert stream.getvalue() == ("\r\x1b[2Kqueueing new articles [#...] 1/4  content:x"
                                 "\r\x1b[2Kposting 3 done  mastodon published\r\x1b[2K")


def test_progress_shows_on_a_terminal_and_never_with_json(room: Newsroom):
    code, out, err = on_terminal(room, "watch", "--once", "--backfill", "2", "--no-post")
    assert code == 0 and "queueing new articles" in err and "queueing" not in out
    room.write_site(room.config.parent, [SLUG, LONG, "zweiter-artikel"])
    code, out, err = on_terminal(room, "watch", "--once", "--backfill", "2", "--no-post", "--json")
    assert code == 0 and "\r" not in err and "\x1b[" not in out
