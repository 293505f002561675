"""Rebuild the model that ships with PortGuard (``src/portguard/mail/model/default.json``).

    .venv/bin/python bench/mail/make_default_model.py

It writes 2,000 generated port business messages ("train" templates of ``portmail.py``; the
benchmark judges false positives on the other, "eval" templates) to a temporary folder and runs
``portguard mail train`` on them and the public corpora in ``../shared/data/mail``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from corpus import CLASSES, DATA

from portguard.cli.mail import app
from portguard.mail.classifier import DEFAULT_MODEL
from portguard.mail.portmail import generate


def main() -> int:
    if not DATA.exists():
        print(f"skipped: {DATA} is absent")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        port = Path(tmp) / "port-mail"
        port.mkdir()
        for i, raw in enumerate(generate(2000, seed=99, part="train")):
            (port / f"{i:04d}.eml").write_bytes(raw)
        args = [f"{label}={DATA / f}" for _c, (folders, label) in CLASSES.items() for f in folders]
        args += [f"ham={port}", "-o", str(DEFAULT_MODEL)]
        r = CliRunner().invoke(app, ["train", *args])
        print(r.output, end="")
        return r.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
