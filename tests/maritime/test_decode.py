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


@settings(max_examples=300, deadline=None)
@given(
    year=st.integers(0, 16383),
    month=st.integers(0, 15),
    day=st.integers(0, 31),
    hour=st.integers(0, 31),
    minute=st.integers(0, 63),
    second=st.integers(0, 63),
)
def test_base_station_clock_is_identical_to_pyais(
    year: int, month: int, day: int, hour: int, minute: int, second: int
) -> None:
    """Type 4 is decoded as a batch for the clock: the same times as pyais' fields give."""
    import datetime as dt

    from pyais.encode import encode_dict

    msg = {
        "type": 4, "mmsi": 2442000, "year": year, "month": month, "day": day, "hour": hour,
        "minute": minute, "second": second, "lat": 51.3, "lon": 4.3,
    }  # fmt: skip
    line = encode_dict(msg)[0]
    ref = decode(line)
    try:
        when = dt.datetime(
            ref.year, ref.month, ref.day, ref.hour, ref.minute, ref.second, tzinfo=dt.UTC
        )
        expected = [when.timestamp()] if 2000 <= when.year <= 2100 else []
    except ValueError:
        expected = []
    a = Assembler()
    payloads = a.feed([line.encode()])
    assert len(payloads.payloads[0]) == 28
    assert decode_payloads(payloads, a.stats).base_station_times == expected
    assert decode_payloads(payloads, a.stats, need_clock=False).base_station_times == []


def test_bad_characters_in_base_station_reports_are_decode_errors() -> None:
    stats = IntakeStats()
    p = Payloads([b"4" + b"~" * 27], [0], [None], [None])
    assert decode_payloads(p, stats).base_station_times == []
    assert stats.decode_errors == 1
