"""Never lose a message: SIGKILL the gateway mid-stream, restart it, every ``250`` arrives."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from portguard.mail.smtp import free_port
from portguard.mail.testing import SmtpSink, message

pytestmark = pytest.mark.slow


def _start(root: Path, listen: str, hop: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_gateway_proc.py")), str(root), listen, hop],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "READY"
    return proc


def test_sigkill_mid_stream_loses_nothing(tmp_path: Path) -> None:
    port, hop_port = free_port(), free_port()
    listen, hop = f"127.0.0.1:{port}", f"127.0.0.1:{hop_port}"
    proc = _start(tmp_path, listen, hop)  # the next hop is down: mail waits in the spool
    accepted: list[str] = []
    enough = threading.Event()

    def send() -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
                for i in range(200):
                    c.sendmail(
                        "jan@katoennatie.com",
                        ["ops@portofantwerpbruges.com"],
                        message(subject=f"planning {i:04d}"),
                    )
                    accepted.append(f"planning {i:04d}")
                    if len(accepted) == 15:
                        enough.set()
        except (smtplib.SMTPException, OSError):
            pass
        enough.set()

    t = threading.Thread(target=send)
    t.start()
    assert enough.wait(60)
    proc.send_signal(signal.SIGKILL)  # mid-stream: the client is still sending
    proc.wait()
    assert proc.stdout is not None
    proc.stdout.close()
    t.join(30)
    assert len(accepted) >= 15
    with SmtpSink(hop_port) as sink:
        proc = _start(tmp_path, listen, hop)
        try:
            assert sink.wait(len(accepted), timeout=60), (len(sink.received), len(accepted))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()
    got = {
        raw.split(b"Subject: ", 1)[1].split(b"\n", 1)[0].strip().decode()
        for _, _, raw in sink.received
    }
    assert set(accepted) <= got
