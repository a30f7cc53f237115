"""Testing utilities: serve apps on loopback, and a fault-injecting fake upstream."""

from nanogate.testing._fake_upstream import FakeUpstream, Fault
from nanogate.testing._serve import ServedAioHTTP, ServedASGI

__all__ = ["FakeUpstream", "Fault", "ServedASGI", "ServedAioHTTP"]
