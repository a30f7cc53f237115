"""When a settlement batch waits for more settlements to join it (the ledger's group
commit under concurrent load)."""

from __future__ import annotations

from nanogate.billing._gather import GATHER_S, MAX_GATHERED, Gathering


def arriving(every_s: float, count: int = 20) -> Gathering:
    """A gathering that has seen ``count`` settlements ``every_s`` apart."""
    gathering = Gathering()
    for i in range(count):
        gathering.arrived(100.0 + i * every_s)
    return gathering


def test_a_batch_under_load_waits_for_the_settlements_about_to_arrive() -> None:
    """Settlements a tenth of a millisecond apart, with requests in flight: the batch
    waits the window for them."""
    assert arriving(0.0001).wait_s(queued=1, in_flight=8) == GATHER_S


def test_a_lone_settlement_is_written_at_once() -> None:
    """With no other request in flight there is nothing to wait for, however busy the
    gateway was a moment ago: a single client's answer is never delayed."""
    gathering = arriving(0.0001)
    assert gathering.wait_s(queued=1, in_flight=0) == 0
    assert gathering.full(queued=1, in_flight=0)


def test_at_a_low_rate_a_batch_is_written_at_once() -> None:
    """Settlements arriving further apart than the window would make the batch wait
    for nothing: it is written at once even with requests in flight."""
    assert arriving(0.005).wait_s(queued=1, in_flight=8) == 0
    assert Gathering().wait_s(queued=1, in_flight=8) == 0, "no rate seen yet"


def test_a_full_batch_is_written_without_waiting() -> None:
    """A batch as large as a batch gets is written at once, and a waiting batch is
    woken when it fills."""
    gathering = arriving(0.0001)
    assert gathering.wait_s(queued=MAX_GATHERED, in_flight=8) == 0
    assert gathering.full(queued=MAX_GATHERED, in_flight=8)
    assert not gathering.full(queued=3, in_flight=8)


def test_the_rate_follows_a_change_of_load() -> None:
    """After a burst, settlements slowing to far apart stop the waiting within a few
    arrivals: the average gap weights the newest most."""
    gathering = arriving(0.0001)
    for i in range(30):
        gathering.arrived(200.0 + i * 0.05)
    assert gathering.wait_s(queued=1, in_flight=8) == 0


def test_a_burst_after_a_quiet_spell_is_recognised_quickly() -> None:
    """A quiet minute does not leave the average gap long for hundreds of settlements:
    a burst after it waits for its batch within a score of arrivals."""
    gathering = arriving(60.0, count=5)
    for i in range(20):
        gathering.arrived(1000.0 + i * 0.0001)
    assert gathering.wait_s(queued=1, in_flight=8) == GATHER_S
