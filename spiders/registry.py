"""The shape registry: for each shape of ``crawler.shapes.SHAPES``, the ``Shape`` its module
``spiders/<shape>.py`` declares (spider class and probe). The CLI choices, the marketplaces file, the
spiders Scrapy loads, ``spiders.sample`` and the probe of ``bijia marketplaces add`` all follow it.
"""

from __future__ import annotations

from importlib import import_module

from crawler.shapes import SHAPES
from spiders.shape import Shape


def _load(name: str) -> Shape:
    shape = getattr(import_module(f"spiders.{name}"), "SHAPE", None)
    if not isinstance(shape, Shape) or shape.name != name:
        raise ImportError(f"spiders/{name}.py must declare SHAPE = Shape({name!r}, …)")
    return shape


REGISTRY: dict[str, Shape] = {name: _load(name) for name in SHAPES}
