"""When the prescriber's note says anakinra was last used (initiation.1.b "treated with anakinra ... within the past
90 days"), read from its dates as a range (earliest, latest). The order date is the pinned 2026-03-02."""

from __future__ import annotations

from datetime import date

import pytest

from cds_service.facts.builder import read_prescriber_statements
from cds_service.facts.stated_dates import last_use

AS_OF = date(2026, 3, 2)


@pytest.mark.parametrize(
    "text, earliest, latest",
    [
        # continuing use up to the order date
        ("Has been treated with Kineret 100 mg SC daily continuously since 10/06/2025.", AS_OF, AS_OF),
        ("Kineret 100 mg daily since 14 November 2025.", AS_OF, AS_OF),
        ("Kineret started 11/2025, currently on it.", AS_OF, AS_OF),
        ("Kineret last injection yesterday.", date(2026, 3, 1), date(2026, 3, 1)),
        # an end bounds the last use
        (
            "Treated with Kineret from February to mid-July 2025, stopped when coverage lapsed.",
            date(2025, 7, 11),
            date(2025, 7, 20),
        ),
        ("On Kineret since 2019, stopped in July 2025.", date(2025, 7, 1), date(2025, 7, 31)),
        ("Stopped Kineret in July 2025.", date(2025, 7, 1), date(2025, 7, 31)),
        ("Treated with anakinra until December 2025.", date(2025, 12, 1), date(2025, 12, 31)),
        # a restart after the end
        ("She stopped Kineret 2025-07-14 and restarted Kineret 2026-01-05.", date(2026, 1, 5), AS_OF),
        # a start alone is a lower bound, never proof that the use is old
        ("Started Kineret in 2023.", date(2023, 1, 1), AS_OF),
    ],
)
def test_last_use_from_the_words(text, earliest, latest):
    use = last_use([text], AS_OF)
    assert (use.earliest, use.latest) == (earliest, latest)


@pytest.mark.parametrize(
    "text",
    [
        "Treated with anakinra since February.",  # a month without a year is not guessed
        "Kineret in 2023; Humira from 01/2026 to 02/2026.",  # the dates are Humira's, not Kineret's
        "Kineret; CDAI checked today.",  # "today" is not a use
        "Good response to Kineret.",
    ],
)
def test_no_date_is_read_where_the_words_do_not_date_the_use(text):
    assert last_use([text], AS_OF) is None


def test_the_statement_carries_the_dates_and_relative_words_use_the_order_date():
    order = {
        "id": "o1",
        "authoredOn": "2026-03-02",
        "note": [
            {"text": "Seen today. She was treated with Kineret from February to mid-July 2025 with a good response."},
            {"text": "Kineret last injection 2 days ago."},
        ],
    }
    st = read_prescriber_statements(order)["anakinra_use"]
    assert st.when == (date(2026, 2, 28), date(2026, 2, 28)) and st.source == "MedicationRequest/o1.note[1]"
    # without the order date a relative date is not read
    st = read_prescriber_statements({"id": "o1", "note": [{"text": "Kineret last injection 2 days ago."}]})
    assert st["anakinra_use"].when is None
