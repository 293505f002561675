from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from portguard.maritime.decode import decode_payloads
from portguard.maritime.nmea import Assembler
from portguard.maritime.testing import position_lines, static_lines, tag


def _b(lines: list[str]) -> list[bytes]:
    return [ln.encode() for ln in lines]


def test_single_sentence_with_tag_block_time_and_source() -> None:
    a = Assembler()
    out = a.feed(_b(position_lines(244000001, 51.3, 4.3, sog=5, t=1_700_000_000)))
    assert len(out) == 1
    assert out.times == [1_700_000_000.0]
    assert out.sources == ["pg-test"]


def test_bad_checksum_is_counted_and_dropped() -> None:
    line = position_lines(244000001, 51.3, 4.3)[0]
    bad = line[:-2] + ("00" if line[-2:] != "00" else "11")
    a = Assembler()
    assert len(a.feed([bad.encode()])) == 0
    assert a.stats.bad_checksum == 1


def test_bad_tag_block_checksum() -> None:
    line = position_lines(244000001, 51.3, 4.3, t=1_700_000_000)[0]
    broken = line.replace("*", "*0", 1)[: -0 or None]
    a = Assembler()
    a.feed([broken.encode()])
    assert a.stats.bad_tag_block + a.stats.malformed == 1


def test_multi_sentence_out_of_order_and_interleaved_gps() -> None:
    parts = static_lines(244000001, name="OUT OF ORDER", ship_type=70)
    assert len(parts) == 2
    gps = "$GPRMC,213950.00,A,5250.53669,N,00542.34920,E,0.020,,070420,,,A*7D"
    a = Assembler()
    out = a.feed(_b([parts[1], gps, parts[0]]))
    assert len(out) == 1
    assert a.stats.non_ais_sentences == 1
    dec = decode_payloads(out, a.stats)
    assert dec.statics[0].name == "OUT OF ORDER"
    assert dec.statics[0].ship_type == 70


def test_orphans_expire_and_garbage_is_counted() -> None:
    parts = static_lines(244000001, name="X", ship_type=70)
    a = Assembler(fragment_timeout_lines=5)
    a.feed(_b([parts[0]]))
    a.feed([b"garbage", b"!AIVDM,1,1", b"", b"\x00\xff" * 50, b"!AIVDM,x,y,,A,abc,0*00"] * 2)
    assert a.stats.fragments_expired == 1
    assert a.stats.garbage == 4
    assert a.stats.malformed >= 2
    assert a.stats.empty_lines == 2


def test_tag_block_group_assembly() -> None:
    parts = static_lines(244000001, name="GROUPED", ship_type=70)
    lines = []
    for i, p in enumerate(parts, 1):
        body = f"g:{i}-2-42,c:1700000000"
        from functools import reduce
        from operator import xor

        cs = reduce(xor, body.encode(), 0)
        lines.append(f"\\{body}*{cs:02X}\\{p}")
    a = Assembler()
    out = a.feed(_b(lines))
    assert len(out) == 1 and out.times == [1_700_000_000.0]


def test_tag_helper_roundtrip() -> None:
    assert tag("!AIVDM", None) == "!AIVDM"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=30))
def test_garbage_never_crashes(lines: list[bytes]) -> None:
    a = Assembler()
    out = a.feed(lines)
    decode_payloads(out, a.stats)
    assert a.stats.lines == len(lines)
