"""Network adapters, loaded by name only when something is about to be posted.

The registry (`sharebot.networks`) names each network's adapter as "module:Class". Each module imports its
SDK inside the functions that talk to the network, and this package imports no network module at all,
so `sharebot publish --dry-run` never pays for atproto, tweepy or Mastodon.py.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from sharebot.adapters.base import Adapter, AdapterContext, Secret
from sharebot.errors import ConfigError
from sharebot.models import Account
from sharebot.networks import NETWORKS, Network


def adapter_class(network: Network) -> type[Adapter]:
    """The adapter the registry names for `network`, imported now."""
    path = NETWORKS[network].adapter
    if path is None:
        raise ConfigError(f"network {network!s} has no posting API (share links only)")
    module_name, _, class_name = path.partition(":")
    adapter: type[Adapter] = getattr(importlib.import_module(module_name), class_name)
    return adapter


def make_adapter(account: Account, credentials: Mapping[str, Secret], context: AdapterContext) -> Adapter:
    return adapter_class(account.network)(account, credentials, context)
