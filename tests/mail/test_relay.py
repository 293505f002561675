from __future__ import annotations

from portguard.mail.relay import deliver
from portguard.mail.testing import SmtpSink, message


def test_messages_with_unix_line_endings_are_relayed_with_crlf() -> None:
    text = "line one\n" + ("x" * 70 + "\n") * 30 + "line three"
    raw = message(text=text).replace(b"\r\n", b"\n")
    # Over 1,000 bytes without a CRLF: one SMTP "line" longer than RFC 5321 allows.
    assert b"\r\n" not in raw and len(raw) > 2000
    with SmtpSink() as sink:
        outcome, why = deliver("127.0.0.1", sink.port, "a@b.example", ["c@d.example"], raw)
        assert (outcome, why) == ("delivered", "")
        assert sink.wait(1)
    body = sink.received[0][2]
    assert b"line three" in body and b"x" * 70 in body
