"""docs/networks/<network>.md and .env.example name everything the registry says an account takes."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

from sharebot.networks import NETWORKS, Network
from sharebot.setup_site import secret_variable

DOCS = ROOT / "docs" / "networks"
ENV_EXAMPLE = (ROOT / ".env.example").read_text(encoding="utf-8")
SECTIONS = ("token|password", "expire|lasts|lifetime", "^## Limits", "^## What sharebot sends", "scope|permission")


def page(network: Network) -> str:
    return (DOCS / f"{network.value}.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("network", list(Network))
def test_each_network_has_a_page_naming_every_option_and_secret(network):
    text = page(network)
    spec = NETWORKS[network]
    for name in (*spec.options, *spec.secret_fields):
        assert f"`{name}`" in text, f"docs/networks/{network}.md does not explain `{name}`"
    for field in spec.secret_fields:  # with the variable an account named like its network reads by default
        assert secret_variable(network.value, field) in text
    if not spec.link_only:
        for words in SECTIONS:
            assert re.search(words, text, re.I | re.M), f"docs/networks/{network}.md says nothing on {words!r}"


@pytest.mark.parametrize("network", list(Network))
def test_env_example_names_every_secret_and_every_id_a_network_requires(network):
    spec = NETWORKS[network]
    listed = set(re.findall(r"^(\w+)=", ENV_EXAMPLE, re.M))
    for field in spec.secret_fields:
        assert secret_variable(network.value, field) in listed
    for name, option in spec.options.items():
        if option.required:
            assert f"`{name}`" in ENV_EXAMPLE, f".env.example does not say where {network}'s `{name}` comes from"
    if spec.secret_fields:
        assert f"docs/networks/{network.value}.md" in ENV_EXAMPLE


def test_the_private_telegram_id_and_the_two_x_tokens_are_explained():
    assert "-100" in ENV_EXAMPLE and "urn:li:organization:" in ENV_EXAMPLE
    assert "App-only" in ENV_EXAMPLE and "App-only" in page(Network.X)


def test_the_index_links_every_page():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    assert {p.name for p in DOCS.glob("*.md")} - {"README.md"} == {f"{n.value}.md" for n in Network}
    for network in Network:
        assert f"]({network.value}.md)" in index
