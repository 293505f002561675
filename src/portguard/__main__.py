"""``python -m portguard`` is the ``portguard`` command."""

from portguard.cli.main import app

app()
