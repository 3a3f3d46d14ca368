"""Hostile and odd input, as a new user would try it (issue 10, "Why"): the real command in a subprocess, for
every case. Each ends either with one line on stderr naming the thing at fault and a non-zero exit, or (where
sharebot repairs the input) with the documented warning; never with a traceback.

Covered elsewhere, against the same rules:
- an SVG image and a decompression bomb (a 20,000 × 20,000 PNG): tests/test_fetch.py,
  `test_svg_and_other_formats_get_a_plain_message` and `test_a_png_declaring_20000_x_20000_pixels_is_refused_before_decoding`
  (checked to exist below);
- server-side request forgery through content URLs: tests/test_fetch.py;
- the X, Bluesky and Mastodon counting cases: tests/test_counting_*.py, tests/test_fitting.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cli_support import Result
from fakes.base import FakeAPI, Response
from pds import PDS, list_rkeys
from standins import Newsroom

SLUG = "wahl"
TOKEN = "mtok-FAKE-5f3a9c-recognisable-token"  # looks like a secret; must never be shown or stored
ENV = {"SHAREBOT_BLUESKY_APP_PASSWORD": "FAKE-app-pass-word", "SHAREBOT_MASTODON_ACCESS_TOKEN": "FAKE-mastodon"}


def config(database: str = "var/sharebot.db", *, utm: str = "", secrets: str = "", extra: str = "") -> str:
    return textwrap.dedent(f"""
        [site]
        name = "Demo"
        base_url = "https://nachrichten.sharebot-demo.de/"
        language = "de"
        [source]
        content = "content"
        [queue]
        database = "{database}"
        {utm}
        [accounts.bluesky]
        network = "bluesky"
        handle = "demo.test"
        [accounts.mastodon]
        network = "mastodon"
        instance = "https://social.example"
        schedule = "immediate"
        {secrets}
        {extra}
    """)


def article(*, title: str = "Wahl in Japan", teaser: str = "Die Wahl in Japan.", language: str = "de") -> str:
    return (f"---\ntitle: {json.dumps(title)}\nteaser: {json.dumps(teaser)}\n"
            f"url: https://nachrichten.sharebot-demo.de/wahl\nlanguage: {json.dumps(language)}\n---\n")


@dataclass
class Case:
    """One bad input: the command, and what it must end with."""

    args: tuple[str, ...]
    exit_code: int
    stderr: str = ""  # the one line on stderr names this ("" : stderr stays empty)
    stdout: str = ""  # the documented warning the dry run shows
    config: str = field(default_factory=config)
    content: str = field(default_factory=article)
    env: dict[str, str] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None  # more set-up in the site folder
    secret: str = ""  # must appear nowhere: not in the output, not in the queue


DRY = ("publish", SLUG, "--dry-run")


def _queue_under_a_file(root: Path) -> None:
    (root / "afile").write_text("not a folder")


CASES = {
    # Language codes the PDS answers "Invalid language" to and Mastodon ignores: a warning, the site's language.
    **{f"language {code!r}": Case(DRY, 0, stdout=f"input-normalised: language: {code!r} is not a BCP 47 language tag",
                                  content=article(language=code))
       for code in ("english", "de DE", "123", "e")},
    "language de_DE is read as de-DE": Case(DRY + ("--json",), 0, stdout='"language": "de-DE"',
                                            content=article(language="de_DE")),
    # "unter (https://)": no link facet without a host.
    "a link with no host": Case(DRY + ("--json", "--network", "bluesky"), 0, stdout='"facets": []',
                                content=article(teaser="Mehr unter (https://) lesen.")),
    # A leading U+FEFF: removed, and said so.
    "a leading U+FEFF": Case(DRY, 0, stdout="input-normalised: title: removed 1 U+FEFF ZERO WIDTH NO-BREAK SPACE "
                                            "at start", content=article(title="\ufeffWahl in Japan")),
    "a bidi override": Case(DRY, 0, stdout="input-normalised: teaser: removed 1 U+202E RIGHT-TO-LEFT OVERRIDE inside",
                            content=article(teaser="Siehe \u202eexample.com\u202c hier.")),
    # A token pasted where its variable's name belongs: a config error naming the account and key, never the value.
    "a token pasted into the config": Case(
        ("accounts",), 1, stderr="accounts.mastodon.secrets.access_token: the value is not an environment variable",
        config=config(secrets=f'secrets = {{ access_token = "{TOKEN}" }}'), secret=TOKEN),
    "a token pasted into the config, dry run": Case(
        DRY, 1, stderr="accounts.mastodon.secrets.access_token", secret=TOKEN,
        config=config(secrets=f'secrets = {{ access_token = "{TOKEN}" }}')),
    # UTM placeholders that reach into Python objects are refused when the config is read.
    "UTM attribute access": Case(DRY, 1, stderr="utm.utm_campaign: {slug.__class__} is not a placeholder",
                                 config=config(utm='[utm]\nutm_campaign = "{slug.__class__}"')),
    "UTM index": Case(DRY, 1, stderr="utm.utm_campaign: {network[0]} is not a placeholder",
                      config=config(utm='[utm]\nutm_campaign = "{network[0]}"')),
    # Queue paths that cannot be a database.
    "a queue path under a file": Case(("queue",), 1, stderr="afile is a file, not a folder",
                                      config=config("afile/sharebot.db"), setup=_queue_under_a_file),
    "a queue path under a file, publish": Case(("publish", SLUG), 1, stderr="afile is a file, not a folder",
                                               config=config("afile/sharebot.db"), setup=_queue_under_a_file),
    "a queue in /proc": Case(("queue",), 1, stderr="queue database /proc/self/sharebot.db: cannot create",
                             config=config("/proc/self/sharebot.db")),
    "a /proc file as the queue, dry run": Case(DRY, 1, stderr="queue database /proc/version: cannot open",
                                               config=config("/proc/version")),
    "a folder as the queue": Case(("queue",), 1, stderr="queue database /tmp: not a regular file",
                                  config=config("/tmp")),
    # Config that cannot be read.
    "malformed config": Case(DRY, 1, stderr="sharebot.toml: Expected ']'", config="[site\nname = 1\n"),
    "config not UTF-8": Case(DRY, 1, stderr="sharebot.toml: cannot read", config="\udcff"),
    "config missing": Case(("--config", "nowhere.toml", "queue"), 1, stderr="nowhere.toml: config file not found"),
    "config is a folder": Case(("--config", ".", "queue"), 1, stderr=".: cannot read"),
    "an unknown slug": Case(("publish", "wahll", "--dry-run"), 1, stderr="no article 'wahll'"),
    # Standard output that cannot show the text.
    "ASCII standard output": Case(DRY, 1, stderr="standard output (ascii) cannot show",
                                  content=article(title="Wahl in Bayern: Söder gewinnt"),
                                  env={"PYTHONIOENCODING": "ascii"}),
}


def run(root: Path, args: tuple[str, ...], env: dict[str, str], **kw: object) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "sharebot", "--config", "sharebot.toml", *args]
    if "--config" in args:
        command = [sys.executable, "-m", "sharebot", *args]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SHAREBOT_")}
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **kw}
    return subprocess.run(command, cwd=root, env={**environ, **ENV, **env}, text=True, encoding="utf-8",
                          errors="replace", timeout=60, **streams)  # type: ignore[call-overload]


def site(root: Path, case: Case) -> Path:
    (root / "content").mkdir(parents=True, exist_ok=True)
    (root / "content" / f"{SLUG}.md").write_text(case.content, encoding="utf-8")
    (root / "sharebot.toml").write_bytes(case.config.encode("utf-8", "surrogateescape"))
    if case.setup:
        case.setup(root)
    return root


def one_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {stderr!r}"
    return lines[0]


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    result = run(site(tmp_path, case), case.args, case.env)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == case.exit_code, (result.stdout[-500:], result.stderr)
    if case.stderr:
        assert case.stderr in one_line(result.stderr)
        if "PYTHONIOENCODING" in case.env:
            assert "(U+00F6); set PYTHONIOENCODING=utf-8" in result.stderr  # the first it could not show: "ö"
    else:
        assert result.stderr == ""
    assert case.stdout in result.stdout
    if case.secret:
        assert case.secret not in result.stdout + result.stderr
        for path in (tmp_path / "var").glob("*"):
            assert case.secret.encode() not in path.read_bytes()


def test_a_broken_pipe_is_one_line_and_exit_141(tmp_path: Path) -> None:
    """`sharebot publish … --dry-run | head -2`: the reader has gone before sharebot writes."""
    read, write = os.pipe()
    os.close(read)
    try:
        result = run(site(tmp_path, Case(DRY, 0)), DRY, {}, stdout=write)
    finally:
        os.close(write)
    assert result.returncode == 141
    assert one_line(result.stderr) == "sharebot: standard output was closed before everything was written (broken pipe)"


def test_a_read_only_queue_is_one_line_naming_it(tmp_path: Path) -> None:
    """Root may write to any file whatever its mode, so as root the queue is made immutable (chattr +i)."""
    root = site(tmp_path, Case(DRY, 0))
    assert run(root, ("queue",), {}).returncode == 0  # creates the queue
    database = root / "var" / "sharebot.db"
    if os.geteuid() == 0:
        made = subprocess.run(["chattr", "+i", str(database)], capture_output=True, text=True)
        if made.returncode != 0:
            pytest.skip(f"root, and chattr +i is refused here ({made.stderr.strip()}): no file is read-only to root")
        undo = ["chattr", "-i", str(database)]
    else:
        database.chmod(0o444)
        undo = ["chmod", "644", str(database)]
    try:
        result = run(root, ("publish", SLUG), {})
    finally:
        subprocess.run(undo, check=True)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert "sharebot.db" in line and "readonly database" in line, line


class Pages(FakeAPI):
    def __init__(self) -> None:
        super().__init__()
        self.pages: dict[str, str] = {}
        self.route("GET", r"/(.+)", lambda _req, match: Response(
            200, self.pages[match.group(1)], {"Content-Type": "text/html; charset=utf-8"}))


@pytest.fixture
def pages() -> Iterator[Pages]:
    with Pages() as api:
        yield api  # type: ignore[misc]


def test_an_og_url_on_another_site_is_not_believed(tmp_path: Path, pages: Pages) -> None:
    """A page that names another site as its address would make the post link there: its own address is used."""
    pages.pages["artikel/wahl"] = ('<html><head><meta property="og:title" content="Wahl in Japan">'
                                   '<meta property="og:url" content="https://elsewhere.example/wahl"></head></html>')
    own = f"{pages.url}/artikel/wahl"
    root = site(tmp_path, Case(DRY, 0, config=config(extra='[fetch]\nallow_private = ["127.0.0.1"]')))
    result = run(root, ("publish", own, "--dry-run", "--json", "--network", "mastodon"), {})
    assert "Traceback" not in result.stdout + result.stderr and result.returncode == 0, result.stderr
    preview = json.loads(result.stdout)
    assert preview["article"]["url"] == own and preview["posts"][0]["link"].startswith(own + "?")
    assert preview["article"]["notes"] == [
        "url: the page names https://elsewhere.example/wahl as its address, on another site; its own address is used"]


def test_the_image_cases_are_covered_by_the_fetch_tests() -> None:
    import test_fetch

    assert callable(test_fetch.test_svg_and_other_formats_get_a_plain_message)
    assert callable(test_fetch.test_a_png_declaring_20000_x_20000_pixels_is_refused_before_decoding)


def test_a_credential_a_network_echoes_reaches_no_output_no_queue_and_no_flag(newsroom: Newsroom, tmp_path: Path) -> None:
    """An error answer that quotes the credential (a network, proxy or SDK may): masked before anything keeps it."""
    from cli_support import sharebot

    newsroom.write_site(tmp_path, ["putin-xi-videogespraech-partnerschaft"])
    config = newsroom.write_config(tmp_path)
    newsroom.mastodon.token = newsroom.mastodon.token + "-" + TOKEN  # one only this test uses
    newsroom.mastodon.fail_next(401, {"error": f"The access token {newsroom.mastodon.token} is invalid"},
                                method="POST", path="/api/v1/statuses")
    newsroom.telegram.fail_next(401, {"ok": False, "error_code": 401,
                                      "description": f"Unauthorized: bot{newsroom.telegram.token} revoked"},
                                method="POST")
    secrets = (newsroom.mastodon.token, newsroom.telegram.token)

    def run_it(*args: str) -> str:
        result = sharebot("--config", str(config), *args, env=newsroom.env(), now=newsroom.clock())
        assert "Traceback" not in result.output
        return result.output

    shown = run_it("publish", "putin-xi-videogespraech-partnerschaft", "--network", "mastodon,telegram", "--now")
    shown += run_it("queue") + run_it("accounts") + run_it("status", "putin-xi-videogespraech-partnerschaft")
    assert "FLAGGED" in shown or "cannot post" in shown  # the failures are there, named
    stored = b"".join(p.read_bytes() for p in (config.parent / "var").glob("sharebot.db*"))
    assert b"is invalid" in stored and b"Unauthorized: bot" in stored  # the errors were kept, masked
    for secret in secrets:
        assert secret not in shown and secret.encode() not in stored


def test_accounts_check_with_a_wrong_bluesky_password_is_rejected(newsroom: Newsroom, pds: PDS,
                                                                  tmp_path: Path) -> None:
    """A session kept from an earlier login must not vouch for a password since changed to a wrong one."""
    from cli_support import sharebot

    slug = "putin-xi-videogespraech-partnerschaft"
    newsroom.add_bluesky(pds)
    newsroom.write_site(tmp_path, [slug])
    config = newsroom.write_config(tmp_path)

    def run_it(*args: str, password: str) -> Result:
        env = {**newsroom.env(), "SHAREBOT_BLUESKY_APP_PASSWORD": password}
        result = sharebot("--config", str(config), *args, env=env, now=newsroom.clock())
        assert "Traceback" not in result.output
        return result

    assert newsroom.bluesky is not None
    right = newsroom.bluesky.app_password
    first = run_it("accounts", "check", password=right)
    assert "bluesky" in first.stdout and first.exit_code == 0, first.output  # logs in, keeps the session
    wrong = run_it("accounts", "check", password="wron-gpas-swor-d123")
    line = next(line for line in wrong.stdout.splitlines() if line.lstrip().startswith("bluesky"))
    assert wrong.exit_code == 3 and "ok" not in line.split(), wrong.output
    assert "wron-gpas-swor-d123" not in wrong.output
    published = run_it("publish", slug, "--network", "bluesky", "--now", password="wron-gpas-swor-d123")
    assert published.exit_code == 3 and list_rkeys(pds, newsroom.bluesky.did) == []  # nothing posted with it
