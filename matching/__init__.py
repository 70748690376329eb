"""Matching: group offers of the same product across marketplaces.

Stages, one module each: ``normalise`` → ``attributes`` → ``blocking`` → ``scoring`` → ``grouping``;
``ids`` keeps product ids stable across runs, ``overrides`` holds a merchandiser's decisions,
``explain`` says why two offers were grouped, ``evaluate`` measures on public benchmarks.
"""

from .config import MatchConfig
from .explain import Explanation, explain
from .overrides import Overrides
from .pipeline import Group, MatchResult, PairDecision, match_offers
from .product_ids import assign_product_ids
from .records import OfferRecord

__all__ = [
    "Explanation",
    "Group",
    "MatchConfig",
    "MatchResult",
    "OfferRecord",
    "Overrides",
    "PairDecision",
    "assign_product_ids",
    "explain",
    "match_offers",
]
