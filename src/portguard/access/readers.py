"""Badge readers and gates, from the port model (kinds ``reader`` and ``gate``) plus the extra
readers of the configuration.

Port-model properties a reader may carry (see ``docs/access_infra.md``): ``facility`` (the ISPS
facility it admits to), ``asset`` (the asset it protects, e.g. ``berendrecht-lock``; default: its
``parent``), ``closed_at_level`` (2 or 3: the access point closes at that ISPS level), and
``level3_access_point`` (true: the one point left open at level 3, for listed responders).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from portguard.core.errors import ConfigError
from portguard.portmodel import PortModel
from portguard.portmodel.kinds import FeatureKind

__all__ = ["ReaderInfo", "Readers", "distance_m"]


@dataclass(frozen=True, slots=True)
class ReaderInfo:
    id: str
    name: str
    lat: float
    lon: float
    facility: str | None = None
    asset: str | None = None
    closed_at_level: int | None = None
    level3_access_point: bool = False

    @property
    def places(self) -> tuple[str, ...]:
        """Ids a clearance or an override may name for this reader, most specific first."""
        return tuple(p for p in (self.id, self.asset, self.facility) if p)

    @property
    def location_asset(self) -> str:
        """The port-model id alerts put in ``Location.asset_id``: what the reader protects."""
        return self.asset or self.id


def distance_m(a: ReaderInfo, b: ReaderInfo) -> float:
    """Great-circle distance (haversine), metres."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000.0 * math.asin(min(1.0, math.sqrt(h)))


def _level(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value not in (2, 3):
        raise ConfigError(f"{where}: closed_at_level must be 2 or 3, got {value!r}")
    return value


class Readers:
    """Every reader by id; immutable."""

    def __init__(self, readers: Mapping[str, ReaderInfo]) -> None:
        self._by_id = dict(readers)

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[ReaderInfo]:
        return iter(self._by_id.values())

    def __contains__(self, reader_id: object) -> bool:
        return reader_id in self._by_id

    def get(self, reader_id: str) -> ReaderInfo | None:
        return self._by_id.get(reader_id)

    @classmethod
    def from_model(
        cls, model: PortModel, extra: Mapping[str, Mapping[str, Any]] | None = None
    ) -> Readers:
        out: dict[str, ReaderInfo] = {}
        for f in model.by_kind(FeatureKind.READER, FeatureKind.GATE):
            p = f.properties
            asset = p.get("asset") or f.parent
            out[f.id] = ReaderInfo(
                id=f.id,
                name=f.name,
                lat=f.lat,
                lon=f.lon,
                facility=f.facility,
                asset=str(asset) if asset else None,
                closed_at_level=_level(p.get("closed_at_level"), f"reader {f.id}"),
                level3_access_point=bool(p.get("level3_access_point", False)),
            )
        for rid, raw in (extra or {}).items():
            where = f"access config readers.{rid}"
            try:
                lat, lon = float(raw["lat"]), float(raw["lon"])
            except (KeyError, TypeError, ValueError):
                raise ConfigError(f"{where}: lat and lon (numbers) are required") from None
            facility = raw.get("facility")
            if facility is not None and facility not in model:
                raise ConfigError(f"{where}: unknown facility {facility!r}")
            out[rid] = ReaderInfo(
                id=rid,
                name=str(raw.get("name", rid)),
                lat=lat,
                lon=lon,
                facility=facility,
                asset=raw.get("asset"),
                closed_at_level=_level(raw.get("closed_at_level"), where),
                level3_access_point=bool(raw.get("level3_access_point", False)),
            )
        return cls(out)
