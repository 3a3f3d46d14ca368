"""Network adapters, loaded by name only when something is about to be posted.

Each module imports its SDK inside the functions that talk to the network, and this package imports
no network module at all, so `sharebot publish --dry-run` never pays for atproto, tweepy or Mastodon.py.
"""

from __future__ import annotations

import importlib
from typing import Mapping

from sharebot.adapters.base import Adapter, AdapterContext, Secret
from sharebot.errors import ConfigError
from sharebot.models import Account, Network

_MODULES = {
    Network.X: "sharebot.adapters.x:XAdapter",
    Network.BLUESKY: "sharebot.adapters.bluesky:BlueskyAdapter",
    Network.MASTODON: "sharebot.adapters.mastodon:MastodonAdapter",
    Network.LINKEDIN: "sharebot.adapters.linkedin:LinkedInAdapter",
    Network.FACEBOOK: "sharebot.adapters.facebook:FacebookAdapter",
    Network.THREADS: "sharebot.adapters.threads:ThreadsAdapter",
    Network.TELEGRAM: "sharebot.adapters.telegram:TelegramAdapter",
}


def adapter_class(network: Network) -> type[Adapter]:
    try:
        module_name, _, class_name = _MODULES[network].partition(":")
    except KeyError:
        raise ConfigError(f"network {network!s} has no posting API (share links only)") from None
    return getattr(importlib.import_module(module_name), class_name)


def make_adapter(account: Account, credentials: Mapping[str, Secret], context: AdapterContext) -> Adapter:
    return adapter_class(account.network)(account, credentials, context)
