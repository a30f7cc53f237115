"""The escrow's bookkeeping: what a process may admit from its leases without the database."""

from __future__ import annotations

from nanogate.billing._escrow import (
    BALANCE,
    LEASE_HOLDS,
    SECONDS_LEASE_US,
    SECONDS_ROOMY_LEASE_US,
    Claim,
    Escrow,
    Seconds,
    seconds_wanted,
)

KEY = (BALANCE, "acct_1", "")
DAY = ("requests", "key:k", "2026-03-01")


def test_an_empty_pool_reports_what_must_be_leased() -> None:
    """With no lease, a claim is short by its whole amount and wants a slice of several
    holds; once the lease is written, the claim is whole and the rest is free."""
    escrow = Escrow()
    (short,) = escrow.take([Claim(KEY, 100)], now=0.0)
    assert (short.short, short.taking, short.want) == (100, 100, 100 * LEASE_HOLDS)
    escrow.covered(short, 450)
    pool = escrow.pools[KEY]
    assert (pool.lease, pool.taken, pool.free) == (450, 100, 350)


def test_a_pool_in_demand_is_extended_by_its_recent_demand() -> None:
    """A pool asked for often wants, when it runs short, about what it was asked for in
    the last quarter of a second, in whole holds: a busy key leases its day's requests
    a few times a second rather than every 32 requests. A quiet pool wants 32 holds."""
    escrow = Escrow()
    for i in range(4000):  # 4,000 requests a second for a second
        escrow.take([Claim(DAY, 1, 10**9)], now=i / 4000)
    (short,) = escrow.take([Claim(DAY, 1, 10**9)], now=1.0)
    assert 900 <= short.want <= 1100
    (quiet,) = Escrow().take([Claim(KEY, 100)], now=0.0)
    assert quiet.want == 100 * LEASE_HOLDS
    (later,) = escrow.take([Claim(DAY, 1, 10**9)], now=10.0)  # after a quiet spell
    assert later.want == LEASE_HOLDS


def test_requests_are_admitted_from_the_free_part_of_a_lease() -> None:
    """While a lease has room, claims are taken in memory: no shortfall, nothing to write."""
    escrow = Escrow()
    (short,) = escrow.take([Claim(KEY, 100)], now=0.0)
    escrow.covered(short, 300)
    assert escrow.take([Claim(KEY, 100)], now=1.0) == []
    assert escrow.take([Claim(KEY, 100)], now=1.0) == []
    assert escrow.pools[KEY].free == 0


def test_a_partly_free_pool_is_short_only_of_the_rest() -> None:
    """A claim takes what is free and is short only of the remainder, so leases never
    strand money in fragments."""
    escrow = Escrow()
    (first,) = escrow.take([Claim(KEY, 100)], now=0.0)
    escrow.covered(first, 130)
    (short,) = escrow.take([Claim(KEY, 100)], now=0.0)
    assert (short.short, short.taking) == (70, 70)
    assert escrow.pools[KEY].free == 0


def test_a_settlement_frees_the_unspent_part_and_consumes_the_charge() -> None:
    """Settling gives the unspent part of a hold back at once; the charge leaves the lease
    only when its settlement is written."""
    escrow = Escrow()
    (short,) = escrow.take([Claim(KEY, 100)], now=0.0)
    escrow.covered(short, 100)
    escrow.untake(KEY, 60)  # charged 40 of 100
    assert escrow.pools[KEY].free == 60
    escrow.consumed(KEY, 40)
    pool = escrow.pools[KEY]
    assert (pool.lease, pool.taken) == (60, 0)


def test_a_lost_lease_leaves_a_deficit_the_next_lease_covers() -> None:
    """When the database no longer has a lease (another process took this one for dead),
    what requests in flight took is a deficit: the next shortfall includes it."""
    escrow = Escrow()
    (short,) = escrow.take([Claim(KEY, 100)], now=0.0)
    escrow.covered(short, 100)
    escrow.lost(KEY)
    (next_short,) = escrow.take([Claim(KEY, 50)], now=0.0)
    assert (next_short.short, next_short.taking) == (150, 50)
    escrow.covered(next_short, 150)
    assert escrow.pools[KEY].free == 0


def test_retaking_uses_a_lease_another_request_wrote_meanwhile() -> None:
    """A request waiting for another's lease extension takes from it instead of leasing
    again."""
    escrow = Escrow()
    first, second = (escrow.take([Claim(KEY, 100)], now=0.0)[0] for _ in range(2))
    escrow.covered(first, 400)
    assert escrow.retake(second) is None
    assert escrow.pools[KEY].free == 200


def test_idle_leases_and_leases_of_past_days_are_given_back() -> None:
    """A lease with nothing in flight is given back once unused for the idle time, a daily
    lease also when its day is over; a lease in use is kept."""
    escrow = Escrow()
    busy = ("balance", "acct_2", "")
    for key in (KEY, DAY, busy):
        (short,) = escrow.take([Claim(key, 10)], now=0.0)
        escrow.covered(short, 40)
    escrow.untake(KEY, 10)
    escrow.consumed(DAY, 10)
    assert escrow.idle(now=0.5, idle_s=1.0, today="2026-03-01") == []
    assert escrow.idle(now=0.5, idle_s=1.0, today="2026-03-02") == [(DAY, 30)]
    assert escrow.idle(now=2.0, idle_s=1.0, today="2026-03-02") == [(KEY, 40)]
    escrow.returned(KEY, 40)
    assert KEY not in escrow.pools
    assert escrow.pools[busy].taken == 10


def test_leased_admissions_are_used_before_their_deadline_only() -> None:
    """Per-second admissions leased ahead are taken one at a time until the lease's
    deadline; at or after it they are gone, and the caller must count in the database.
    The request that leased them has the first."""
    seconds = Seconds()
    seconds.leased("key:k", 3, until=1_050, now=1_000)  # one used by the leasing request
    assert seconds.take("key:k", now=1_000) == 1_050
    assert seconds.take("key:k", now=1_049) == 1_050
    assert seconds.take("key:k", now=1_049) is None
    seconds.leased("key:k", 5, until=2_050, now=2_000, used=0)
    assert seconds.take("key:k", now=2_050) is None
    assert seconds.take("other", now=0) is None


def test_the_earliest_lease_is_used_first_and_given_back_to_its_own_deadline() -> None:
    """Of two leases the one that expires first is used first; an admission given back
    keeps its own deadline (never a later one), and one past its deadline is dropped."""
    seconds = Seconds()
    seconds.leased("key:k", 1, until=2_000, now=0, used=0)
    seconds.leased("key:k", 1, until=1_000, now=0, used=0)
    first = seconds.take("key:k", now=500)
    assert first == 1_000
    seconds.give_back("key:k", first, now=600)
    assert seconds.take("key:k", now=600) == 1_000
    assert seconds.take("key:k", now=600) == 2_000
    seconds.give_back("key:k", 1_000, now=1_000)  # too late: dropped
    assert seconds.take("key:k", now=1_001) is None


def test_leases_follow_the_recent_rate() -> None:
    """A lease is half of what the subject was admitted in a lease's time at its recent
    rate: one at a time below 40 a second, more when busier, at most the limit's cap;
    after a lull the rate, and the lease, fall back to one. Far below the limit (a
    sixteenth of it or less), a lease is all of what the subject asks for in 250 ms.
    Requests waiting for the lease are added to it, within the cap."""
    seconds = Seconds()
    assert seconds.want("key:k", limit=10**6, now=0) == 1
    for i in range(300):  # 30 a second for 10 s
        seconds.leased("key:k", 1, until=0, now=i * 33_333)
    assert seconds.want("key:k", limit=400, now=10_000_000) == 1
    assert seconds.want("key:k", limit=10**6, now=10_000_000) == 7  # far below: 30/s × 250 ms
    for i in range(2000):  # 2,000 a second for 1 s
        seconds.leased("key:k", 1, until=0, now=10_000_000 + i * 500)
    assert seconds.want("key:k", limit=400, now=11_000_000) == 49  # half of 2,000/s × 50 ms
    assert seconds.want("key:k", limit=40, now=11_000_000) == 5
    assert seconds.want("key:k", limit=40_000, now=11_000_000) == 256  # far below: capped
    assert seconds.want("key:k", limit=10**6, now=13_000_000) == 1  # 2 s later
    assert seconds.want("key:k", limit=10**6, now=13_000_000, waiting=9) == 10
    assert seconds.want("key:k", limit=40, now=13_000_000, waiting=9) == 5


def test_leases_far_below_the_limit_last_longer() -> None:
    """A lease stays usable for 50 ms; for a subject far below its limit (its rate here
    a sixteenth of the limit or less), for 250 ms: what it keeps from others is then a
    sliver of the limit."""
    seconds = Seconds()
    for i in range(2000):  # 2,000 a second for 1 s
        seconds.leased("key:k", 1, until=0, now=i * 500)
    assert seconds.lease_us("key:k", limit=10_000, now=1_000_000) == SECONDS_LEASE_US
    assert seconds.lease_us("key:k", limit=40_000, now=1_000_000) == SECONDS_ROOMY_LEASE_US
    assert seconds.lease_us("key:quiet", limit=16, now=1_000_000) == SECONDS_ROOMY_LEASE_US


def test_the_next_lease_is_written_ahead_when_a_quarter_is_left() -> None:
    """Far below its limit, a subject whose last lease was of several (8 or more) and
    has a quarter of it left, or less, wants its next lease written ahead; never near
    the limit, never for leases of one, nor while more is left."""
    seconds = Seconds()
    for i in range(2000):  # 2,000 a second for 1 s
        seconds.leased("key:k", 1, until=0, now=i * 500)
    now = 1_000_000
    seconds.leased("key:k", 100, until=now + 250_000, now=now, used=0)
    for _ in range(74):
        assert seconds.take("key:k", now) is not None
    assert not seconds.running_low("key:k", limit=10**6, now=now)  # 26 left of 100: not yet
    assert seconds.take("key:k", now) is not None
    assert seconds.running_low("key:k", limit=10**6, now=now)
    assert not seconds.running_low("key:k", limit=10_000, now=now)  # near the limit
    assert seconds.running_low("key:k", limit=10**6, now=now + 250_000)  # expired: none left
    seconds.leased("key:small", 4, until=now + 250_000, now=now, used=4)
    assert not seconds.running_low("key:small", limit=10**6, now=now)


def test_expired_leases_and_quiet_subjects_are_forgotten() -> None:
    """Housekeeping drops leases past their deadline, subjects left with none, and the
    rates of subjects quiet for seconds."""
    seconds = Seconds()
    seconds.leased("key:a", 8, until=1_000, now=0)
    seconds.leased("key:b", 3, until=5_000, now=0, used=0)
    seconds.expire(now=2_000)
    assert seconds.take("key:a", now=0) is None
    assert seconds.take("key:b", now=2_000) == 5_000
    seconds.expire(now=60_000_000)
    assert seconds._rate == {}


def test_how_many_per_second_admissions_are_leased_at_most() -> None:
    """A small per-second limit is counted request by request; a larger one in leases
    of at most an eighth of the limit, and at most 256."""
    sizes = [seconds_wanted(n) for n in (1, 5, 15, 16, 40, 256, 4096, 10**6)]
    assert sizes == [1, 1, 1, 2, 5, 32, 256, 256]
