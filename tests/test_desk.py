"""`sharebot serve`: the desk's pages over real HTTP, and its actions, which act only with the token and the
confirmation page's check value, through the same library functions as the CLI (posts reach the stand-ins)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cli_support import sharebot
from conftest import EXAMPLE_CONFIG, ROOT, SEED_SLUG
from desk_support import running_desk
from standins import Newsroom

from sharebot.config import load_settings

pytest.importorskip("starlette", reason="the desk extra is not installed: pip install -e '.[desk]'")

TOKEN = "desk-test-token-not-a-secret"


@pytest.fixture
def room(newsroom: Newsroom, tmp_path: Path) -> Newsroom:
    newsroom.write_site(tmp_path, [SEED_SLUG])
    newsroom.write_config(tmp_path)
    return newsroom


def settings_of(room: Newsroom):
    assert room.config is not None
    return load_settings(room.config, room.env(), dotenv_path=room.config.parent / "none.env")


def confirm(client: httpx.Client, action: str, target: str) -> dict[str, str]:
    page = client.get(f"/confirm/{action}", params={"target": target})
    assert page.status_code == 200, page.text
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
    assert fields["target"] == target and len(fields["check"]) == 64
    assert TOKEN not in page.text
    return fields


def test_the_pages_show_articles_plan_preview_and_history(tmp_path):
    env = {"SHAREBOT_DATABASE_URL": str(tmp_path / "q.db")}
    settings = load_settings(EXAMPLE_CONFIG, env, dotenv_path=tmp_path / "none.env")
    from conftest import DEFAULT_NOW

    with running_desk(settings, clock=lambda: DEFAULT_NOW) as url, httpx.Client(base_url=url) as client:
        index = client.get("/")
        article = client.get(f"/articles/{SEED_SLUG}")
        page = client.get(f"/articles/{SEED_SLUG}/preview")
        history = client.get(f"/articles/{SEED_SLUG}/history")
        plan = client.get("/plan")
        missing = client.get("/articles/gibt-es-nicht")
        refused = client.get(f"/confirm/publish?target={SEED_SLUG}")
        posted = client.post("/do/publish", data={"target": SEED_SLUG, "token": "", "check": ""})
        foreign = client.get("/", headers={"Host": "attacker.example"})
    assert index.status_code == 200 and index.text.count('<tr data-slug="') == 10
    assert f'href="/articles/{SEED_SLUG}"' in index.text
    assert article.status_code == 200 and article.text.count('<article class="post') == 8
    assert "Nothing queued or posted for this article yet" in article.text and "/confirm/" not in article.text
    # the preview page is the one `sharebot preview` writes, on the same clock
    cli = sharebot("--config", str(EXAMPLE_CONFIG), "preview", SEED_SLUG, env=env, now=DEFAULT_NOW)
    assert page.text == cli.stdout
    assert history.status_code == 200 and "Nothing queued or posted" in history.text
    assert plan.status_code == 200 and "Nothing is planned" in plan.text
    assert missing.status_code == 404 and "no article &#39;gibt-es-nicht&#39;" in missing.text
    assert refused.status_code == 403 and posted.status_code == 403 and "actions are off" in posted.text
    assert foreign.status_code == 400
    assert index.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in index.headers["content-security-policy"]


def test_publish_now_acts_only_with_the_token_and_the_check_value(room: Newsroom):
    with running_desk(settings_of(room), clock=room.clock, token=TOKEN) as url, httpx.Client(base_url=url) as client:
        fields = confirm(client, "publish", SEED_SLUG)
        wrong = client.post("/do/publish", data={**fields, "token": "guess"})
        forged = client.post("/do/publish", data={**fields, "check": "0" * 64, "token": TOKEN})
        other = client.post("/do/retract", data={**fields, "token": TOKEN})  # a check made for another action
        assert (wrong.status_code, forged.status_code, other.status_code) == (403, 403, 403)
        assert sum(room.posted().values()) == 0
        done = client.post("/do/publish", data={**fields, "token": TOKEN})
        assert done.status_code == 200, done.text
        assert TOKEN not in done.text
        article = client.get(f"/articles/{SEED_SLUG}")
        index = client.get("/")
        history = client.get(f"/articles/{SEED_SLUG}/history")
    assert room.posted() == {"x": 1, "mastodon": 1, "linkedin": 1, "facebook": 1, "threads": 1, "telegram": 1}
    assert "published" in done.text and "done" in done.text
    assert article.text.count('class="state-published"') == 6
    assert index.text.count('class="state-published"') == 6
    assert history.text.count('<table class="grid history"') == 6 and "running" in history.text
    # the CLI sees what the desk did: the same queue, the same functions
    status = sharebot("--config", str(room.config), "status", SEED_SLUG, env=room.env(), now=room.clock())
    assert status.exit_code == 0 and status.stdout.count("published") == 6


def test_schedule_retract_and_retry_go_through_the_library(room: Newsroom):
    with running_desk(settings_of(room), clock=room.clock, token=TOKEN) as url, httpx.Client(base_url=url) as client:
        fields = confirm(client, "schedule", SEED_SLUG)
        scheduled = client.post("/do/schedule", data={**fields, "token": TOKEN, "at": "+2h"})
        assert scheduled.status_code == 200, scheduled.text
        assert scheduled.text.count("scheduled") >= 6 and sum(room.posted().values()) == 0
        plan = client.get("/plan")
        assert plan.text.count("<h2 data-account=") == 6
        fields = confirm(client, "retract", SEED_SLUG)
        retracted = client.post("/do/retract", data={**fields, "token": TOKEN})
        assert retracted.status_code == 200 and retracted.text.count("canceled") == 6
        job = re.search(r'<a href="/confirm/retry\?target=(\d+)">', client.get(f"/articles/{SEED_SLUG}").text)
        assert job is None  # a retracted article's jobs are not retried: `publish --repost` posts it anew
        bad = client.get("/confirm/retry", params={"target": "x1"})
        assert bad.status_code == 404
    status = sharebot("--config", str(room.config), "status", SEED_SLUG, env=room.env(), now=room.clock())
    assert status.stdout.count("canceled") == 6


def test_retry_a_canceled_job(room: Newsroom):
    assert room.config is not None
    queued = sharebot("--config", str(room.config), "publish", SEED_SLUG, "--at", "+3h", "--network", "x",
                      env=room.env(), now=room.clock())
    assert queued.exit_code == 0, queued.output
    job_id = sharebot("--config", str(room.config), "queue", env=room.env(), now=room.clock()).stdout.split()[0]
    sharebot("--config", str(room.config), "queue", "cancel", job_id, env=room.env(), now=room.clock())
    with running_desk(settings_of(room), clock=room.clock, token=TOKEN) as url, httpx.Client(base_url=url) as client:
        assert f'/confirm/retry?target={job_id}"' in client.get(f"/articles/{SEED_SLUG}").text
        fields = confirm(client, "retry", job_id)
        retried = client.post("/do/retry", data={**fields, "token": TOKEN})
        again = client.post("/do/retry", data={**fields, "token": TOKEN})
    assert retried.status_code == 200 and "queued" in retried.text
    assert again.status_code == 400 and "only failed or canceled jobs are retried" in again.text


def test_serve_refuses_an_unset_token_variable_a_busy_port_and_no_port(tmp_path, capsys):
    unset = sharebot("--config", str(EXAMPLE_CONFIG), "serve", "--token-env", "SHAREBOT_DESK_TOKEN_UNSET",
                     env={"SHAREBOT_DESK_TOKEN_UNSET": ""})
    assert unset.exit_code == 1 and unset.stderr.count("\n") == 1 and "SHAREBOT_DESK_TOKEN_UNSET" in unset.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        taken = sharebot("--config", str(EXAMPLE_CONFIG), "serve", "--port", port,
                         env={"SHAREBOT_DATABASE_URL": str(tmp_path / "q.db")})
    assert taken.exit_code == 1 and taken.stderr.count("\n") == 1 and f"--port {port}: cannot listen" in taken.stderr
    capsys.readouterr()
    wrong = sharebot("--config", str(EXAMPLE_CONFIG), "serve", "--port", "70000")
    usage = capsys.readouterr().err  # argparse writes its usage errors to the process's stderr
    assert wrong.exit_code == 2 and "'70000' is not a port number (1-65535)" in usage and len(usage) < 400


def test_serve_without_the_desk_extra_says_how_to_install_it():
    code = ("import sys\nsys.modules['uvicorn'] = None  # as if the extra were not installed\n"
            "from sharebot.cli import main\nsys.exit(main(['--config', sys.argv[1], 'serve']))\n")
    proc = subprocess.run([sys.executable, "-c", code, str(EXAMPLE_CONFIG)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, timeout=60)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == "sharebot: sharebot serve needs the desk extra (uvicorn is not installed): " \
                          "pip install 'sharebot[desk]'\n"


@pytest.mark.slow  # a real `sharebot serve` process
@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_sharebot_serve_runs_until_stopped_and_never_prints_the_token(tmp_path, stop):
    import signal

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "SHAREBOT_DATABASE_URL": str(tmp_path / "q.db"),
           "DESK_TOKEN": TOKEN}
    proc = subprocess.Popen([sys.executable, "-m", "sharebot", "--config", str(EXAMPLE_CONFIG), "serve", "--port",
                             str(port), "--token-env", "DESK_TOKEN"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        assert ready.startswith(f"sharebot desk on http://127.0.0.1:{port}/; actions on"), ready
        index = httpx.get(f"http://127.0.0.1:{port}/", timeout=30)
        assert index.status_code == 200 and f'href="/articles/{SEED_SLUG}"' in index.text
    finally:
        proc.send_signal(getattr(signal, stop))
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert TOKEN not in ready + out + err + index.text
