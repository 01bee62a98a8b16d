from datetime import UTC, datetime

from hallmark.pipeline import new_record_id


def test_record_id_is_uuid7_and_time_ordered() -> None:
    t1 = datetime(2026, 1, 1, tzinfo=UTC)
    t2 = datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
    a, b = new_record_id(now=t1), new_record_id(now=t2)
    assert a.version == 7 and b.version == 7
    assert a.variant == "specified in RFC 4122"
    assert str(a) < str(b)
    assert (a.int >> 80) == int(t1.timestamp() * 1000)


def test_record_ids_are_unique_within_a_millisecond() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert len({new_record_id(now=now) for _ in range(1000)}) == 1000
