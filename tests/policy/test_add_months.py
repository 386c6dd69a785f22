"""Calendar months, as the approval periods and the 3-month trials count them."""

from datetime import date

import pytest

from cds_service.policy.clauses.common import add_months


@pytest.mark.parametrize(
    "start, months, expected",
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year: the last day of February
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 3, 31), 1, date(2024, 4, 30)),  # no 31 April
        (date(2024, 8, 29), 6, date(2025, 2, 28)),
        (date(2024, 12, 15), 3, date(2025, 3, 15)),  # across the year
        (date(2026, 3, 2), 12, date(2027, 3, 2)),
        (date(2026, 5, 31), -3, date(2026, 2, 28)),
    ],
)
def test_add_months(start, months, expected):
    assert add_months(start, months) == expected
