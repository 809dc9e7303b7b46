"""A local SMTP sink for development (`launchgate smtp-sink`): accepts every message on a loopback port and
writes it to a directory as an .eml file, never relaying anything.

Each file is the message as received, preceded by `X-Sink-Mail-From` and `X-Sink-Rcpt-To` headers with the
SMTP envelope. Read them with any mail client, or `cat var/mail/*.eml`.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class MaildirHandler:
    """aiosmtpd handler: every accepted message becomes one .eml file (written whole, then renamed)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._sequence = itertools.count(1)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or b""
        envelope_headers = (
            f"X-Sink-Mail-From: {envelope.mail_from}\r\nX-Sink-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{next(self._sequence):05d}.eml"
        partial = self.directory / f".{name}.part"
        partial.write_bytes(envelope_headers + content)
        partial.replace(self.directory / name)
        return "250 Message accepted for delivery"


def start_sink(host: str, port: int, directory: Path) -> Controller:
    """Start the sink in a background thread; stop it with `.stop()`."""
    controller = Controller(MaildirHandler(directory), hostname=host, port=port, ready_timeout=10)
    controller.start()
    return controller
