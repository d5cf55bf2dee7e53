"""A tiny name → object registry used for spaces, scores, strategies and datasets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from nascli.errors import NasInputError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to factories; unknown names raise `NasInputError` listing the known ones."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers `obj` under `name`."""

        def decorator(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._items[name] = obj
            return obj

        return decorator

    def add(self, name: str, obj: T) -> None:
        """Register `obj` under `name` without a decorator."""
        self.register(name)(obj)

    def get(self, name: str) -> T:
        """The object registered as `name`; a clear error naming the choices otherwise."""
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "(none)"
            raise NasInputError(f"unknown {self.kind} {name!r}: choose one of {known}") from None

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
