from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pyais import decode

from portguard.maritime.decode import decode_payloads
from portguard.maritime.nmea import Assembler, IntakeStats, Payloads
from portguard.maritime.testing import position_lines


@settings(max_examples=300, deadline=None)
@given(
    mmsi=st.integers(1, 2**30 - 1),
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
    sog=st.floats(0, 102.2),
    cog=st.floats(0, 359.9),
    msg_type=st.sampled_from([1, 2, 3, 18]),
    status=st.integers(0, 15),
)
def test_fast_path_is_identical_to_pyais(
    mmsi: int, lat: float, lon: float, sog: float, cog: float, msg_type: int, status: int
) -> None:
    line = position_lines(mmsi, lat, lon, sog=sog, cog=cog, msg_type=msg_type, status=status)[0]
    ref = decode(line)
    a = Assembler()
    fixes = decode_payloads(a.feed([line.encode()]), a.stats).fixes
    assert len(fixes) == 1
    assert int(fixes.mmsi[0]) == ref.mmsi
    assert float(fixes.lat[0]) == ref.lat and float(fixes.lon[0]) == ref.lon
    assert float(fixes.sog[0]) == ref.speed and float(fixes.cog[0]) == ref.course
    assert int(fixes.heading[0]) == ref.heading and int(fixes.second[0]) == ref.second
    if msg_type != 18:
        assert int(fixes.status[0]) == ref.status


def test_bad_characters_are_decode_errors() -> None:
    stats = IntakeStats()
    p = Payloads([b"1" + b"~" * 27, b"5" + b"~" * 60], [0, 0], [None, None], [None, None])
    dec = decode_payloads(p, stats)
    assert len(dec.fixes) == 0
    assert stats.decode_errors == 2
