"""The network registry: every network is declared once and completely, and nothing else names a network."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT

from sharebot.adapters import adapter_class, make_adapter
from sharebot.adapters.base import AccountState, AccountStatus, Adapter, AdapterContext
from sharebot.errors import AuthError, ConfigError, MissingCredential
from sharebot.models import Account
from sharebot.networks import LINK_ONLY, NETWORKS, Capability, Network, Option, rules_for, share_servers

SRC = ROOT / "src" / "sharebot"
POSTING = [n for n in Network if n not in LINK_ONLY]
FIND, DELETE, EDIT, REPLY = Capability.FIND, Capability.DELETE, Capability.EDIT, Capability.REPLY


def test_every_network_has_exactly_one_spec():
    assert list(NETWORKS) != [] and set(NETWORKS) == set(Network)
    assert all(spec.network is network for network, spec in NETWORKS.items())


@pytest.mark.parametrize("network", POSTING)
def test_adapter_path_names_an_adapter_for_that_network(network: Network):
    cls = adapter_class(network)
    assert issubclass(cls, Adapter) and cls.network is network
    assert NETWORKS[network].adapter == f"{cls.__module__}:{cls.__name__}"


def test_link_only_networks_have_no_adapter_credentials_options_or_capabilities():
    assert LINK_ONLY == {Network.WHATSAPP}
    for network in LINK_ONLY:
        spec = NETWORKS[network]
        assert spec.adapter is None and spec.secret_fields == () and not spec.options and not spec.capabilities
        with pytest.raises(ConfigError, match="share links only"):
            adapter_class(network)


@pytest.mark.parametrize("network", list(Network))
def test_credentials_and_options_are_declared_completely(network: Network):
    spec = NETWORKS[network]
    fields = spec.secret_fields
    assert len(set(fields)) == len(fields) and all(re.fullmatch(r"[a-z][a-z0-9_]*", f) for f in fields)
    assert spec.link_only or fields, "a network sharebot posts to needs credentials"
    for key, option in spec.options.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", key)
        kinds = option.kind if isinstance(option.kind, tuple) else (option.kind,)
        assert set(kinds) <= {str, int, float, bool}, key
        assert not option.positive or set(kinds) <= {int, float}, key
        if option.required:
            assert option.default is None, f"{key}: a required option has no default"
        elif option.default is not None:
            assert option.problem(option.default) is None, f"{key}: default {option.default!r} is not a valid value"


def test_required_options_are_what_each_adapter_cannot_work_without():
    required = {n: {k for k, o in spec.options.items() if o.required} for n, spec in NETWORKS.items()}
    assert required == {
        Network.X: set(), Network.BLUESKY: {"handle"}, Network.MASTODON: {"instance"},
        Network.LINKEDIN: {"author"}, Network.FACEBOOK: {"page_id"}, Network.THREADS: {"user_id"},
        Network.TELEGRAM: {"chat_id"}, Network.WHATSAPP: set(),
    }


def test_options_check_types():
    assert Option(str).problem(12) == "expected a string, got 12"
    assert Option(int, positive=True).problem("x") == "expected a positive whole number, got 'x'"
    assert Option(int, positive=True).problem(0) == "expected a positive whole number, got 0"
    assert Option(int).problem(True) == "expected a whole number, got True"
    assert Option(float).problem(1) is None and Option(float).problem(0.5) is None
    assert Option(bool).problem("yes") == "expected true or false, got 'yes'"
    assert Option((str, int)).problem(-1001234567890) is None
    assert Option((str, int)).problem(1.5) == "expected a string or a whole number, got 1.5"


def test_capabilities_are_what_each_api_offers():
    assert {n: spec.capabilities for n, spec in NETWORKS.items()} == {
        Network.X: {FIND, DELETE, REPLY},
        Network.BLUESKY: {FIND, DELETE, REPLY},
        Network.MASTODON: {FIND, DELETE, EDIT, REPLY},
        Network.LINKEDIN: {FIND, DELETE, EDIT, REPLY},
        Network.FACEBOOK: {FIND, DELETE, EDIT, REPLY},
        Network.THREADS: {FIND, DELETE, REPLY},
        Network.TELEGRAM: {DELETE, EDIT, REPLY},  # a bot cannot read channel history: an unknown send stays unknown
        Network.WHATSAPP: set(),
    }


def test_rules_are_built_per_account_where_the_network_needs_it():
    mastodon = rules_for(Account("m", Network.MASTODON, {"max_characters": 1000, "characters_reserved_per_url": 30}))
    assert (mastodon.limit, mastodon.length("https://example.org/" + "a" * 80)) == (1000, 30)
    assert rules_for(Account("m", Network.MASTODON)).limit == 500
    assert rules_for(Account("t", Network.TELEGRAM, {"attach_image": True})).limit == 1024  # a photo caption
    assert rules_for(Account("t", Network.TELEGRAM)).limit == 4096
    for network in Network:
        assert rules_for(Account("a", network)).limit == NETWORKS[network].rules.default_limit


@pytest.mark.parametrize("network", list(Network))
def test_every_network_has_a_share_link(network: Network):
    url = "https://news.example.de/a?b=c"
    link = NETWORKS[network].share(url=url, title="Titel", text=None, hashtags=(), server=None)
    assert link.startswith("https://") and "https%3A%2F%2Fnews.example.de%2Fa%3Fb%3Dc" in link


def test_share_servers_come_from_the_first_account_that_names_one():
    accounts = [Account("x", Network.X, {"api_base": "https://x.test"}),
                Account("m1", Network.MASTODON, {"instance": "https://eins.example"}),
                Account("m2", Network.MASTODON, {"instance": "https://zwei.example"})]
    assert share_servers(accounts) == {Network.MASTODON: "https://eins.example"}


# --- what the adapters take from the registry ---------------------------------------------------------------
def test_the_adapter_base_checks_the_credentials_the_registry_requires(tmp_path: Path):
    account = Account("tg", Network.TELEGRAM, {"chat_id": "@news"}, {"bot_token": "SHAREBOT_TG_BOT_TOKEN"})
    with pytest.raises(MissingCredential, match="missing credential.*SHAREBOT_TG_BOT_TOKEN") as caught:
        make_adapter(account, {}, AdapterContext(tmp_path))
    assert isinstance(caught.value, AuthError)  # the worker fails the job and flags the account, as for AuthError


@pytest.mark.parametrize("network", POSTING)
def test_adapters_that_still_list_their_credentials_agree_with_the_registry(network: Network):
    listed = adapter_class(network).__dict__.get("required_secrets")
    assert listed is None or tuple(listed) == NETWORKS[network].secrets


def test_account_state_is_an_enum_that_prints_as_before():
    status = AccountStatus("a", "missing", "SHAREBOT_A_TOKEN")
    assert status.state is AccountState.MISSING and status.state == "missing"
    assert f"{status.state:<8}|" == "missing |"


# --- the registry stays the one place ---------------------------------------------------------------------
# The counting algorithms the registry points to keep their style names ("mastodon", "bluesky", "twitter").
TEXT_RULES = {"counting.py", "entities.py", "facets.py", "fitting.py"}
# Threads runs on Meta's Graph API and shares Facebook's error mapping (adapters/threads.py imports it).
KNOWN = {("adapters/threads.py", Network.FACEBOOK)}


def network_names(network: Network) -> re.Pattern[str]:
    value = re.escape(network.value)
    return re.compile(rf"\bNetwork\.{network.name}\b|[\"']{value}[\"']|\badapters[./]{value}\b")


def test_no_module_but_the_registry_and_its_adapter_names_a_network():
    found = []
    for path in sorted(SRC.rglob("*.py")):
        name = path.relative_to(SRC).as_posix()
        if name == "networks.py" or name in TEXT_RULES:
            continue
        text = path.read_text(encoding="utf-8")
        for network in Network:
            if name == f"adapters/{network.value}.py" or (name, network) in KNOWN:
                continue
            for number, line in enumerate(text.splitlines(), 1):
                if network_names(network).search(line):
                    found.append(f"{name}:{number}: {line.strip()}")
    assert not found, "network named outside the registry (src/sharebot/networks.py):\n" + "\n".join(found)


def test_the_name_check_would_see_a_network_named_elsewhere():
    pattern = network_names(Network.MASTODON)
    assert all(pattern.search(s) for s in ('if network is Network.MASTODON:', 'style="mastodon"',
                                           'import sharebot.adapters.mastodon', '"sharebot/adapters/mastodon"'))
    assert not pattern.search("Mastodon.py counts graphemes") and not network_names(Network.X).search('"xml"')
