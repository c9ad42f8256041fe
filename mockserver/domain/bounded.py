"""A dict that keeps only its newest ``limit`` entries: histories (released calls, ended conversations) that
would otherwise grow for as long as the mock runs."""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedDict(OrderedDict[K, V]):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: K, value: V) -> None:
        if key in self:
            self.move_to_end(key)
        super().__setitem__(key, value)
        while self.limit > 0 and len(self) > self.limit:
            self.popitem(last=False)
