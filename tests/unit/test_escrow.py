"""The escrow's bookkeeping: what a process may admit from its leases without the database."""

from __future__ import annotations

from nanogate.billing._escrow import BALANCE, LEASE_HOLDS, Claim, Escrow

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
