"""A gateway in its own process, for the SIGKILL test: python _gateway_proc.py DIR LISTEN HOP."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from portguard.core.bus import EmbeddedBus
from portguard.core.db import Base, Database
from portguard.mail import MailGateway, MailSettings


def main() -> None:
    root, listen, hop = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    db = Database(f"sqlite:///{root / 'pg.db'}")
    Base.metadata.create_all(db.engine)
    bus = EmbeddedBus(root / "bus.db")
    gw = MailGateway(
        MailSettings(listen=listen, next_hop=hop, retry_initial_s=0.2, retry_max_s=0.5),
        db=db,
        bus=bus,
        spool_dir=root / "spool",
    )
    gw.start()
    print("READY", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
