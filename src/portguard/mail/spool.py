"""The durable spool: a message is on disk (fsynced) before the gateway answers ``250``.

Layout under the spool folder::

    msgs/<id>.eml     the message as received
    msgs/<id>.json    its state: envelope, verdict, relay attempts (replaced atomically)
    quarantine/<id>.eml   quarantined messages (the database row says why)

A message exists once its ``.json`` does (written after the ``.eml``); an ``.eml`` without one is
a transfer that never got its ``250`` and is removed on start. States: ``received`` (not scanned
yet: a crash before the scan) → ``scanned`` (verdict known, not yet recorded) → ``relay``
(waiting for the next hop, with ``attempts`` and ``next_try``) → gone (delivered) or moved to
``quarantine/``.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from portguard.core.ids import new_id

__all__ = ["Spool"]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{path.name}.{threading.get_ident()}.tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


class Spool:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.msgs = root / "msgs"
        self.quarantine_dir = root / "quarantine"
        self.msgs.mkdir(parents=True, exist_ok=True)
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def recover(self) -> int:
        """Drop partial transfers (no state file); returns how many messages are pending."""
        for p in self.msgs.glob("*.tmp"):
            p.unlink(missing_ok=True)
        for eml in self.msgs.glob("*.eml"):
            if not eml.with_suffix(".json").exists():
                eml.unlink(missing_ok=True)
        return len(self.ids())

    def accept(self, raw: bytes, meta: dict[str, Any]) -> str:
        """Store durably; when this returns the message survives a crash."""
        sid = new_id()
        _write(self.msgs / f"{sid}.eml", raw)
        _write(self.msgs / f"{sid}.json", json.dumps({**meta, "id": sid}).encode())
        _fsync_dir(self.msgs)
        return sid

    def ids(self) -> list[str]:
        return sorted(p.stem for p in self.msgs.glob("*.json"))

    def meta(self, sid: str) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads((self.msgs / f"{sid}.json").read_bytes())
        except (OSError, ValueError):
            return None
        return data

    def raw(self, sid: str) -> bytes:
        return (self.msgs / f"{sid}.eml").read_bytes()

    def update(self, sid: str, meta: dict[str, Any]) -> None:
        _write(self.msgs / f"{sid}.json", json.dumps(meta).encode())

    def remove(self, sid: str) -> None:
        """Delivered or rejected: forget it (state first, so a crash leaves no half message)."""
        (self.msgs / f"{sid}.json").unlink(missing_ok=True)
        (self.msgs / f"{sid}.eml").unlink(missing_ok=True)

    def to_quarantine(self, sid: str) -> None:
        src = self.msgs / f"{sid}.eml"
        if src.exists():
            src.replace(self.quarantine_dir / f"{sid}.eml")
            _fsync_dir(self.quarantine_dir)
        (self.msgs / f"{sid}.json").unlink(missing_ok=True)

    def quarantined(self, sid: str) -> bytes:
        return (self.quarantine_dir / f"{sid}.eml").read_bytes()

    def requeue(self, sid: str, meta: dict[str, Any]) -> None:
        """A released message goes back to the relay queue."""
        src = self.quarantine_dir / f"{sid}.eml"
        _write(self.msgs / f"{sid}.eml", src.read_bytes())
        self.update(sid, meta)
        _fsync_dir(self.msgs)
        src.unlink(missing_ok=True)

    def drop_quarantined(self, sid: str) -> None:
        (self.quarantine_dir / f"{sid}.eml").unlink(missing_ok=True)
