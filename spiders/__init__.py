"""bijia spiders, one per marketplace *shape*: ``SPIDERS[shape]`` (from ``spiders.registry``).

Each is configured by a ``Marketplace`` kwarg: ``crawler.crawl(SPIDERS[m.shape], marketplace=m)``.
"""

from __future__ import annotations

from spiders.registry import REGISTRY

SPIDERS = {name: shape.spider for name, shape in REGISTRY.items()}
EXTRACTORS = {name: shape.extract for name, shape in REGISTRY.items()}

__all__ = ["EXTRACTORS", "REGISTRY", "SPIDERS"]
