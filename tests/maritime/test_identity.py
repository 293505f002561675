from __future__ import annotations

import pytest

from portguard.maritime.identity import MmsiClass, check_mmsi, country_of


@pytest.mark.parametrize("mmsi", [0, 123456789, 111111111, 1193046])
def test_dummies(mmsi: int) -> None:
    assert not check_mmsi(mmsi).valid


@pytest.mark.parametrize(
    ("mmsi", "cls", "valid"),
    [
        (205123456, MmsiClass.SHIP, True),
        (244000001, MmsiClass.SHIP, True),
        (333301158, MmsiClass.SHIP, False),  # MID 333 unallocated
        (2053260, MmsiClass.COAST, False),  # a coast station sending positions
        (982051234, MmsiClass.AUXILIARY, True),
        (970123456, MmsiClass.SART, True),
        (111205123, MmsiClass.SAR_AIRCRAFT, True),
        (900404516, MmsiClass.UNKNOWN, False),
        (1025356646, MmsiClass.UNKNOWN, False),
    ],
)
def test_classes(mmsi: int, cls: MmsiClass, valid: bool) -> None:
    check = check_mmsi(mmsi)
    assert check.valid is valid
    if mmsi < 10**9:
        assert check.number_class is cls
    assert check.valid or check.problem


def test_country() -> None:
    assert country_of(205123456) == "BE"
    assert country_of(0) is None
