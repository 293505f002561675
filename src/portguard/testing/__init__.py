"""Test helpers shipped with the package (mitmproxy's ``tflow`` idea): factories that build real
Events, Alerts and migrated databases, for PortGuard's own tests and for plugin authors."""

from portguard.testing.factories import make_alert, make_event, migrated_db

__all__ = ["make_alert", "make_event", "migrated_db"]
