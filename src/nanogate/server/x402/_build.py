"""Building the cashier: each configured rail's watcher or verifier."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nanogate.billing import Ledger
from nanogate.config import X402Settings
from nanogate.rails import EvmNode, Facilitator, NanoNode
from nanogate.server.x402._cashier import Cashier, Verifier, Watcher
from nanogate.storage import PaymentStore
from nanogate.x402 import RAILS

if TYPE_CHECKING:
    from nanogate.server._state import Clock


def build_cashier(
    settings: X402Settings, payments: PaymentStore, clock: Clock, ledger: Ledger
) -> Cashier:
    """A cashier for the rails ``settings`` enables (nothing connects until first use);
    the ledger knows which gateway processes are alive."""
    watchers: dict[str, Watcher] = {}
    verifiers: dict[str, Verifier] = {}
    for name in settings.rails:
        rail = settings.rail(name)
        if name == "nano":
            watchers[name] = NanoNode(rail.node_url, timeout_s=rail.timeout_s)
        elif name == "base-usdc":
            watchers[name] = EvmNode(
                rail.node_url,
                rail.asset or RAILS[name].asset_address or "",
                confirmations=rail.confirmations,
                lookback_blocks=rail.lookback_blocks,
                timeout_s=rail.timeout_s,
            )
        elif not RAILS[name].polling:
            verifiers[name] = Facilitator(rail.facilitator_url, timeout_s=rail.timeout_s)
    return Cashier(
        settings,
        payments,
        clock,
        watchers,
        verifiers,
        owner=ledger.instance,
        alive=ledger.alive,
    )
