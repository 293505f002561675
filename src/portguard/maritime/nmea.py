"""NMEA 0183 sentences → assembled AIS payloads: tag blocks, checksums, multi-sentence assembly.

This module owns the wire layer, without I/O. ``Assembler.feed(lines)`` takes a batch of raw
lines and returns the complete AIS payloads in it, each with its receive time and source station
from the NMEA 4.0 tag block when there is one. Everything wrong is counted in ``IntakeStats``,
never raised: garbage lines, non-AIS sentences (GPS interleaved in a feed), malformed sentences,
wrong checksums (sentence or tag block), orphan, duplicate and expired fragments.

Checksums are verified for the whole batch at once (numpy XOR over the joined sentence bodies),
which is what lets intake keep up with pyais' own decoder; a sentence with a wrong checksum is
dropped before assembly, so PortGuard never tracks on it. Fragments may arrive out of order: a
message is assembled when all of its parts are there, whatever their order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Final

import numpy as np

__all__ = ["Assembler", "IntakeStats", "Payloads"]

_BANG: Final = 33  # '!'
_DOLLAR: Final = 36  # '$'
_BACKSLASH: Final = 92  # '\\'
_AIS_TYPES: Final = frozenset({b"VDM", b"VDO"})
#: Longest line worth looking at: an AIS sentence is at most 82 characters plus a tag block.
MAX_LINE: Final = 1024


@dataclass(slots=True)
class IntakeStats:
    """Counters of everything intake saw; all monotonically increasing."""

    lines: int = 0
    empty_lines: int = 0
    garbage: int = 0
    non_ais_sentences: int = 0
    malformed: int = 0
    bad_checksum: int = 0
    bad_tag_block: int = 0
    fragments: int = 0
    fragments_orphaned: int = 0
    fragments_expired: int = 0
    fragments_duplicate: int = 0
    empty_payloads: int = 0
    messages: int = 0
    decode_errors: int = 0
    unsupported_types: int = 0
    #: Valid messages of types no detector uses (binary, AtoN, safety...): not decoded.
    skipped_types: int = 0
    positions: int = 0
    positions_not_available: int = 0
    positions_null_island: int = 0
    positions_out_of_range: int = 0
    statics: int = 0
    connections: int = 0
    disconnects: int = 0
    dropped_overload: int = 0
    detector_errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(slots=True)
class Payloads:
    """Complete AIS messages of a batch, as parallel lists (cheaper than one object each)."""

    payloads: list[bytes] = field(default_factory=list)
    fill_bits: list[int] = field(default_factory=list)
    #: Receive time (unix seconds) from the tag block's ``c:`` or the source; None if unknown.
    times: list[float | None] = field(default_factory=list)
    sources: list[str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.payloads)


@dataclass(slots=True)
class _Pending:
    parts: dict[int, bytes]
    total: int
    fill: int
    time: float | None
    source: str | None
    first_line: int


def _xor_segments(bodies: Sequence[bytes]) -> list[int]:
    """XOR of the bytes of each body (the NMEA checksum), for all bodies at once."""
    lens = np.fromiter(map(len, bodies), dtype=np.int64, count=len(bodies))
    buf = np.frombuffer(b"".join(bodies), dtype=np.uint8)
    starts = np.zeros(len(bodies), dtype=np.int64)
    np.cumsum(lens[:-1], out=starts[1:])
    out = np.zeros(len(bodies), dtype=np.uint8)
    nonempty = lens > 0
    if buf.size:
        out[nonempty] = np.bitwise_xor.reduceat(buf, starts[nonempty])
    result: list[int] = out.tolist()
    return result


def _parse_tag_block(tag: bytes) -> tuple[float | None, str | None, tuple[int, int, str] | None]:
    """(receive time, source station, group (num, total, id)) from a tag block's fields."""
    when: float | None = None
    source: str | None = None
    group: tuple[int, int, str] | None = None
    for item in tag.split(b","):
        key, _, value = item.partition(b":")
        if key == b"c":
            t = float(value)
            when = t / 1000.0 if t > 1e11 else t  # some feeds send milliseconds
        elif key == b"s":
            source = value.decode("ascii", "replace")[:100]
        elif key == b"g":
            num, total, gid = value.split(b"-", 2)
            group = (int(num), int(total), gid.decode("ascii", "replace"))
    return when, source, group


class Assembler:
    """Batch-wise NMEA parser and fragment assembler. Keeps only the pending fragments as state.

    ``fragment_timeout_s`` drops fragments whose message never completes (counted as expired),
    judged on receive times when known, else on the number of lines seen since.
    """

    def __init__(
        self,
        stats: IntakeStats | None = None,
        *,
        fragment_timeout_s: float = 60.0,
        fragment_timeout_lines: int = 1_000,
        max_pending: int = 10_000,
    ) -> None:
        self.stats = stats if stats is not None else IntakeStats()
        self.fragment_timeout_s = fragment_timeout_s
        self.fragment_timeout_lines = fragment_timeout_lines
        self.max_pending = max_pending
        self._pending: dict[tuple[object, ...], _Pending] = {}
        self._line_no = 0

    def feed(self, lines: Sequence[bytes], times: Sequence[float | None] | None = None) -> Payloads:
        """Parse a batch of lines; ``times`` (one per line) are receive times from the source,
        overridden by a tag block's ``c:``."""
        st = self.stats
        st.lines += len(lines)
        bodies: list[bytes] = []
        sums: list[bytes] = []
        index: list[int] = []
        tags: list[bytes | None] = []
        tag_bodies: list[bytes] = []
        tag_sums: list[bytes] = []
        for i, raw in enumerate(lines):
            line = raw.strip()
            if not line:
                st.empty_lines += 1
                continue
            tag: bytes | None = None
            if line[0] == _BACKSLASH:
                end = line.find(b"\\", 1)
                if end < 0:
                    st.malformed += 1
                    continue
                tag = line[1:end]
                line = line[end + 1 :]
                if not line:
                    st.malformed += 1
                    continue
            first = line[0]
            if first != _BANG:
                if first == _DOLLAR:
                    st.non_ais_sentences += 1
                else:
                    st.garbage += 1
                continue
            star = line.rfind(b"*")
            if star < 0 or len(line) - star < 3 or len(line) > MAX_LINE:
                st.malformed += 1
                continue
            bodies.append(line[1:star])
            sums.append(line[star + 1 : star + 3])
            index.append(i)
            tags.append(tag)
            if tag is not None:
                tstar = tag.rfind(b"*")
                tag_bodies.append(tag[:tstar] if tstar >= 0 else tag)
                tag_sums.append(tag[tstar + 1 : tstar + 3] if tstar >= 0 else b"")
        out = Payloads()
        if not bodies:
            self._line_no += len(lines)
            return out
        ok = _checksums_ok(bodies, sums)
        tag_ok = _checksums_ok(tag_bodies, tag_sums) if tag_bodies else []
        tag_k = 0
        base_line = self._line_no
        fills = _FILL
        for k, body in enumerate(bodies):
            tag = tags[k]
            when = times[index[k]] if times is not None else None
            source: str | None = None
            group: tuple[int, int, str] | None = None
            if tag is not None:
                good_tag = tag_ok[tag_k]
                tag_k += 1
                if not good_tag:
                    st.bad_tag_block += 1
                    continue
                try:
                    tag_time, source, group = _parse_tag_block(tag_bodies[tag_k - 1])
                except (ValueError, UnicodeError):
                    st.bad_tag_block += 1
                    continue
                if tag_time is not None:
                    when = tag_time
            if not ok[k]:
                st.bad_checksum += 1
                continue
            f = body.split(b",")
            if len(f) != 7 or len(f[0]) != 5:
                st.malformed += 1
                continue
            if f[0][2:] not in _AIS_TYPES:
                st.non_ais_sentences += 1
                continue
            if f[1] == b"1" and f[2] == b"1" and group is None:
                fill = fills.get(f[6])
                if fill is None:
                    st.malformed += 1
                elif not f[5]:
                    st.empty_payloads += 1
                else:
                    out.payloads.append(f[5])
                    out.fill_bits.append(fill)
                    out.times.append(when)
                    out.sources.append(source)
                continue
            try:
                total = int(f[1])
                num = int(f[2])
                fill = int(f[6])
            except ValueError:
                st.malformed += 1
                continue
            payload = f[5]
            if not (1 <= num <= total <= 9) or not 0 <= fill <= 5:
                st.malformed += 1
                continue
            if total == 1:
                if not payload:
                    st.empty_payloads += 1
                    continue
                out.payloads.append(payload)
                out.fill_bits.append(fill)
                out.times.append(when)
                out.sources.append(source)
                continue
            st.fragments += 1
            if group is not None:
                key: tuple[object, ...] = ("g", source, group[2])
            else:
                key = (source, f[0][:2], f[3], f[4], total)
            self._fragment(key, num, total, payload, fill, when, source, base_line + index[k], out)
        self._line_no += len(lines)
        self._expire()
        return out

    def _fragment(
        self,
        key: tuple[object, ...],
        num: int,
        total: int,
        payload: bytes,
        fill: int,
        when: float | None,
        source: str | None,
        line_no: int,
        out: Payloads,
    ) -> None:
        st = self.stats
        pending = self._pending.get(key)
        if pending is not None and (pending.total != total or num in pending.parts):
            # A new message reuses the sequence id before the old one completed.
            st.fragments_duplicate += 1 if num in pending.parts else 0
            st.fragments_orphaned += len(pending.parts)
            del self._pending[key]
            pending = None
        if pending is None:
            if len(self._pending) >= self.max_pending:
                oldest = next(iter(self._pending))
                st.fragments_expired += len(self._pending.pop(oldest).parts)
            pending = _Pending({}, total, fill, when, source, line_no)
            self._pending[key] = pending
        pending.parts[num] = payload
        if num == total:
            pending.fill = fill
        if when is not None and pending.time is None:
            pending.time = when
        if len(pending.parts) == total:
            del self._pending[key]
            joined = b"".join(pending.parts[n] for n in range(1, total + 1))
            if not joined:
                st.empty_payloads += 1
                return
            out.payloads.append(joined)
            out.fill_bits.append(pending.fill)
            out.times.append(pending.time)
            out.sources.append(pending.source)

    def _expire(self) -> None:
        if not self._pending:
            return
        limit = self._line_no - self.fragment_timeout_lines
        stale = [k for k, p in self._pending.items() if p.first_line < limit]
        for k in stale:
            self.stats.fragments_expired += len(self._pending.pop(k).parts)

    def flush(self) -> None:
        """Count every still-incomplete message as expired (end of a replay)."""
        for p in self._pending.values():
            self.stats.fragments_expired += len(p.parts)
        self._pending.clear()


_FILL: Final = {str(n).encode(): n for n in range(6)}


def _checksums_ok(bodies: list[bytes], sums: list[bytes]) -> list[bool]:
    """Whether each body's XOR matches its two hex digits (all at once)."""
    actual = np.array(_xor_segments(bodies), dtype=np.int64)
    try:
        expected = np.frombuffer(bytes.fromhex(b"".join(sums).decode("ascii")), dtype=np.uint8)
        if expected.size != actual.size:
            raise ValueError("ragged")
    except (ValueError, UnicodeDecodeError):
        expected = np.array([_hex(x) for x in sums], dtype=np.int64)
    result: list[bool] = (actual == expected).tolist()
    return result


def _hex(text: bytes) -> int:
    try:
        return int(text, 16)
    except ValueError:
        return -1
