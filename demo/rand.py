"""Random access, seeded randomness: every listing property is a pure function of (seed, keys), so a page
can be rendered on demand, in any order, and always say the same thing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")
_MASK = (1 << 64) - 1
_PRIME = 9_999_991


def mix(x: int) -> int:
    """splitmix64: a well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def key(*parts: int) -> int:
    value = 0
    for part in parts:
        value = mix(value ^ (part & _MASK))
    return value


def permute(index: int, salt: int) -> int:
    """A bijection of ``0 <= index < 9_999_991`` (shop ids that do not give the SKU index away)."""
    multiplier = 4_256_233 * (salt + 3) % _PRIME
    return (index * multiplier + mix(salt) % _PRIME) % _PRIME


class Draw:
    """A cheap stream of uniforms for one key (e.g. one listing)."""

    __slots__ = ("_key", "_n")

    def __init__(self, *parts: int) -> None:
        self._key = key(*parts)
        self._n = 0

    def fork(self, salt: int) -> Draw:
        """An independent stream derived from this one's key (cheaper than a new ``Draw``)."""
        child = Draw.__new__(Draw)
        child._key, child._n = mix(self._key ^ (salt * 0x9E3779B1)), 0
        return child

    def random(self) -> float:
        self._n += 1
        return mix(self._key + self._n) / 18446744073709551616.0

    def chance(self, p: float) -> bool:
        return self.random() < p

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def randint(self, low: int, high: int) -> int:
        return low + int(self.random() * (high - low + 1))

    def choice(self, items: Sequence[T]) -> T:
        return items[int(self.random() * len(items))]


def unpermute(value: int, salt: int) -> int:
    """The inverse of :func:`permute`."""
    multiplier = 4_256_233 * (salt + 3) % _PRIME
    return (value - mix(salt) % _PRIME) * pow(multiplier, -1, _PRIME) % _PRIME
