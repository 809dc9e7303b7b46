"""Loopback ports for test servers, safe when several test processes (pytest-xdist workers) run at once.

"Find a free port, then start a server on it" is a race: between the probe closing its socket and the
server binding, another process may take the port. So:
- `listening_socket()` binds port 0 and listens: the kernel picks a port nobody else has, and it stays ours.
  A server in this process serves on that socket; a server process receives it (uvicorn `--fd`, with
  `pass_fds`), so no other process can take the port in between.
- `on_free_ports(start, count)` is for servers that only take port numbers (aiosmtpd's Controller, a
  `launchgate` command): it calls `start(*ports)` and, when a port was taken meanwhile (EADDRINUSE), tries
  other ones.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from contextlib import ExitStack
from typing import TypeVar

LOOPBACK = "127.0.0.1"
ATTEMPTS = 5

T = TypeVar("T")


class PortTakenError(Exception):
    """Raised by a `start` callback of `on_free_ports` whose server found its port taken (for servers that
    report it some other way than OSError(EADDRINUSE), e.g. a child process's log)."""


def listening_socket(host: str = LOOPBACK) -> socket.socket:
    """A TCP socket bound to a port of the kernel's choosing on `host`, already listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((host, 0))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


def port_of(sock: socket.socket) -> int:
    port: int = sock.getsockname()[1]
    return port


def _free_ports(host: str, count: int) -> list[int]:
    """`count` distinct ports that were free a moment ago (all probed at once, so they differ)."""
    with ExitStack() as stack:
        return [port_of(stack.enter_context(listening_socket(host))) for _ in range(count)]


def on_free_ports(
    start: Callable[..., T], count: int = 1, *, host: str = LOOPBACK, attempts: int = ATTEMPTS
) -> T:
    """`start(*ports)` on `count` ports that were free a moment ago; on other ones if one was taken in
    between (`start` raised OSError with EADDRINUSE, or PortTakenError). Anything else `start` raises goes
    through, and so does the last attempt's failure."""
    for _ in range(attempts - 1):
        try:
            return start(*_free_ports(host, count))
        except PortTakenError:
            continue
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
    return start(*_free_ports(host, count))
