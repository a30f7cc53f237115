"""The payment rails' I/O: the peers that confirm accountless (x402) payments.

- :class:`NanoNode` asks a Nano node which send blocks reached an address;
- :class:`EvmNode` asks an EVM node which ERC-20 transfers reached an address;
- :class:`Facilitator` has an x402 facilitator verify and settle signed payments.

Each raises :class:`RailError` when its peer cannot be reached or answers something
unusable; amounts are ints in the asset's atomic unit.
"""

from nanogate.rails._evm import EvmNode
from nanogate.rails._facilitator import Facilitator, SettleResult, VerifyResult
from nanogate.rails._nano import NanoNode
from nanogate.rails._receipts import RailError, Receipt

__all__ = [
    "EvmNode",
    "Facilitator",
    "NanoNode",
    "RailError",
    "Receipt",
    "SettleResult",
    "VerifyResult",
]
