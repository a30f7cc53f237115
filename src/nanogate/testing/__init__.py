"""Testing utilities: serve apps on loopback, a fault-injecting fake upstream speaking
OpenAI's and Anthropic's dialects, and an address that refuses connections."""

from nanogate.testing._fake_upstream import FakeUpstream
from nanogate.testing._faults import Fault
from nanogate.testing._refused import refused_url
from nanogate.testing._serve import ServedAioHTTP, ServedASGI

__all__ = ["FakeUpstream", "Fault", "ServedASGI", "ServedAioHTTP", "refused_url"]
