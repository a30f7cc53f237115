"""Testing utilities: serve apps on loopback, a fault-injecting fake upstream speaking
OpenAI's and Anthropic's dialects, fakes of the payment rails' peers (a Nano node, an EVM
node, an x402 facilitator), fake web search services, and an address that refuses connections."""

from nanogate.testing._fake_evm import FakeEvmNode
from nanogate.testing._fake_facilitator import FakeFacilitator, exact_payment
from nanogate.testing._fake_nano import FakeNanoNode
from nanogate.testing._fake_search import FakeSearch, result_url
from nanogate.testing._fake_upstream import FakeUpstream
from nanogate.testing._faults import Fault
from nanogate.testing._refused import refused_url
from nanogate.testing._serve import ServedAioHTTP, ServedASGI

__all__ = [
    "FakeEvmNode",
    "FakeFacilitator",
    "FakeNanoNode",
    "FakeSearch",
    "FakeUpstream",
    "Fault",
    "ServedASGI",
    "ServedAioHTTP",
    "exact_payment",
    "refused_url",
    "result_url",
]
