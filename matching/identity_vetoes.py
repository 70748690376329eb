"""Why two offers cannot be one product, from their :class:`~matching.identity.Identity`: stated brands,
GTINs, variant attributes, model numbers, variant words and model words (see :mod:`matching.identity`). The
same checks run between *groups* in :mod:`matching.grouping`, so no bridging offer joins them.

Apart from :mod:`matching.identity` because they do not shape the rows a match keeps: changing a veto does
not change ``PREPARE_VERSION`` (which would make the next match regroup everything from scratch).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .attributes import VARIANT_KEYS, attribute_conflict
from .identity import Identity


def _incomparable(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a - b) and bool(b - a)


def _latin_conflict(a: Identity, b: Identity) -> bool:
    """Each side has a word the other lacks — a word of 2+ letters found inside the other's glued words
    (``nosugar``, ``wayof``) does not count."""
    only_a = [w for w in a.latin - b.latin if len(w) < 2 or w not in b.condensed]
    only_b = [w for w in b.latin - a.latin if len(w) < 2 or w not in a.condensed]
    return bool(only_a) and bool(only_b)


def _glued(seq: tuple[str, ...], other: set[str]) -> set[str]:
    """``seq``'s numbers, with a run of them that the other title writes glued (14 2024 → 142024) joined."""
    out = set(seq)
    if len(seq) < 2 or not other:
        return out
    for n in (2, 3):
        for k in range(len(seq) - n + 1):
            joined = "".join(seq[k : k + n])
            if joined in other:
                out.difference_update(seq[k : k + n])
                out.add(joined)
    return out


_NO_ATTRS: Mapping[str, str] = MappingProxyType({})


def _numbers_conflict(a: Identity, b: Identity, am: Mapping[str, str], bm: Mapping[str, str]) -> bool:
    """``am``, ``bm``: the attributes of ``a`` and ``b`` (:attr:`Identity.attr_map`)."""
    na, nb = _glued(a.numbers, set(b.numbers)), _glued(b.numbers, set(a.numbers))
    sa, sb = am.get("size"), bm.get("size")
    if sa and not sb:  # a bare '42' in b's title is its size
        nb.discard(sa)
    if sb and not sa:
        na.discard(sb)
    only_a, only_b = na - nb, nb - na
    if only_a and only_b:
        return True
    if sa and not sb and only_b:  # b's extra number may be a size that is not a's
        return True
    return bool(sb and not sa and only_a)


IDENTITY_CHECKS: tuple[str, ...] = ("brand", "numbers", "variant", "words")
"""What :func:`conflict` may veto besides GTINs and variant attributes: stated brands, model numbers,
variant words (pro/max …), model words. Which of them veto is chosen with the pair model
(``MatchConfig.identity_vetoes``); the model also sees them as features."""


def conflict(a: Identity, b: Identity, checks: Collection[str] = IDENTITY_CHECKS) -> str | None:
    """Why two offers cannot be one product (``None`` if nothing says so). GTINs and variant attributes
    are always checked; ``checks`` names which of ``IDENTITY_CHECKS`` are."""
    am, bm = a.attr_map if a.attrs else _NO_ATTRS, b.attr_map if b.attrs else _NO_ATTRS
    if am and bm and not am.keys().isdisjoint(bm):
        for key in VARIANT_KEYS:
            if key in am and key in bm and attribute_conflict(key, am[key], bm[key]):
                return f"{key}: {am[key]} ≠ {bm[key]}"
    if a.gtin and b.gtin:  # equal GTINs decide (only a variant attribute vetoes them), different never match
        return None if a.gtin == b.gtin else "gtin differs"
    if "brand" in checks and a.brand and b.brand and a.brand != b.brand:
        return f"brand {a.brand} ≠ {b.brand}"
    if "numbers" in checks and _numbers_conflict(a, b, am, bm):
        return f"model numbers {' '.join(sorted(a.numbers))} ≠ {' '.join(sorted(b.numbers))}"
    if "variant" in checks and a.variant != b.variant:
        return f"variant words {dict(a.variant)} ≠ {dict(b.variant)}"
    if a.codes & b.codes or "words" not in checks:
        return None
    if _latin_conflict(a, b) or _incomparable(a.cjk, b.cjk):
        return f"model words {' '.join(sorted(a.latin | a.cjk))} ≠ {' '.join(sorted(b.latin | b.cjk))}"
    return None


@dataclass(frozen=True)
class IdentityRule:
    """Which identity checks veto (``checks``), and the score at or over which a pair — or the pair that
    would merge two groups — is trusted despite them (``bar``; over 1: never)."""

    checks: tuple[str, ...] = IDENTITY_CHECKS
    bar: float = 2.0

    def veto(self, a: Identity, b: Identity, score: float) -> str | None:
        if score >= self.bar or not self.checks:
            return None
        return conflict(a, b, self.checks)
