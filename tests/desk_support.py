"""The desk (`sharebot serve`) served for real: uvicorn on a free loopback port, in a thread of the test."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any


@contextmanager
def running_desk(settings: Any, *, clock: Callable[[], datetime], token: str | None = None) -> Iterator[str]:
    """The desk's base URL while it runs; stopped on the way out."""
    import uvicorn

    from sharebot.desk import make_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(make_app(settings, clock=clock, token=token), log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:  # a start-up wait, not a race with a timer under test
        assert thread.is_alive() and time.monotonic() < deadline, "the desk did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
