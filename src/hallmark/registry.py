"""One explicit registry per kind of plug-in: prompt detectors, image classifiers, watermark
schemes, audit stores and label profiles.

Implementations are registered by name in the module that defines the kind; nothing is
discovered.  An unknown name fails with the names that are known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar, overload

from .errors import HallmarkError

T = TypeVar("T")


class Registry(Generic[T]):
    """Plug-ins of one ``kind`` by name, in the order they were registered.

    ``error`` is the error type that ``get`` raises for an unknown name, and ``hint`` its advice.
    """

    def __init__(
        self, kind: str, *, error: type[HallmarkError] = HallmarkError, hint: str | None = None
    ) -> None:
        self.kind = kind
        self._error = error
        self._hint = hint
        self._entries: dict[str, T] = {}

    @overload
    def register(self, name: str) -> Callable[[T], T]: ...
    @overload
    def register(self, name: str, entry: T) -> T: ...
    def register(self, name: str, entry: T | None = None) -> T | Callable[[T], T]:
        """Register ``entry`` as ``name`` (or use as a decorator: ``@registry.register(name)``).

        A name is registered once: registering it again is a programming error."""

        def add(value: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = value
            return value

        return add if entry is None else add(entry)

    def get(self, name: str) -> T:
        """The entry registered as ``name``; an unknown name raises this registry's error."""
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(self._entries) or "none"
            raise self._error(f"unknown {self.kind} {name!r}; known: {known}", hint=self._hint) from None

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._entries)})"
