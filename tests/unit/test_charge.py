"""A request's charge: settled once, whatever asks for it again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

from tests.unit.test_billing import model

from nanogate.billing import Hold
from nanogate.server._charging import Charge
from nanogate.server._context import RequestContext
from nanogate.storage import RequestRecord


class Ledger:
    """The ledger's ``settle``, remembering each call."""

    def __init__(self) -> None:
        self.settled: list[tuple[int, str | None]] = []

    async def settle(self, hold: Hold, amount: int, note: str | None) -> int:
        self.settled.append((amount, note))
        return amount


def charge_of(ledger: Ledger, metrics: Any) -> Charge:
    record = RequestRecord("req_1", datetime(2026, 1, 1, tzinfo=UTC), "openai", "POST", "/")
    state = SimpleNamespace(ledger=ledger, metrics=metrics, tracing=None)
    ctx = cast(RequestContext, SimpleNamespace(record=record, state=state, request_id="req_1"))
    hold = Hold("req_1", "key:k", "2026-01-01", "acct", "k", 10**9, "m")
    return Charge(ctx, model(), hold, prompt_tokens=7, max_tokens=10, produced=["a b c"])


def test_a_settled_charge_ignores_a_later_settlement() -> None:
    """A stream settled with the usage its upstream reported, then cancelled while its
    last events were sent (the client left), keeps that usage: the second settlement
    neither reaches the ledger nor replaces the record's counts with estimates, nor
    records a discrepancy."""
    ledger = Ledger()
    discrepancies: list[tuple[str, str]] = []
    metrics = SimpleNamespace(discrepancy=lambda *labels: discrepancies.append(labels))
    charge = charge_of(ledger, metrics)
    usage = {"prompt_tokens": 7, "completion_tokens": 3}
    asyncio.run(charge.settle(usage))
    charge.produced.append(" more words than the ten tokens allowed " * 3)
    asyncio.run(charge.settle(None, "client disconnected"))
    record = charge.ctx.record
    assert len(ledger.settled) == 1 and ledger.settled[0][1] is None
    assert (record.input_tokens, record.output_tokens) == (7, 3)
    assert not record.usage_estimated
    assert record.discrepancy is None and discrepancies == []
    assert record.cost_nusd == charge.charged == ledger.settled[0][0]
