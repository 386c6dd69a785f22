"""Memos for the facts layer's pure functions of request text: drug and problem names, codes,
dates, whole CodeableConcepts.

A chart repeats its drugs, lab codes, problems and dates, and these readers are pure (they depend
on their arguments and on data loaded once), so each distinct value is read once per process.
Every memo is bounded twice: in entries (cleared or evicted when full) and in what one entry may
hold. A key longer than MAX_KEY_CHARS is computed and not stored, so a client that sends long,
ever-different texts cannot make a worker keep megabytes per entry (bodies may be 2 MB).
Real keys are names, codes and dates: a few hundred characters at most. Memory only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from enum import Enum
from typing import Any, Final, Generic, NamedTuple, ParamSpec, Protocol, TypeVar, cast

import orjson

MAX_KEY_CHARS = 2048


class _Miss(Enum):
    """The sentinel a cache lookup returns for an absent key (None can be a cached value)."""

    MISS = 0


_MISS: Final = _Miss.MISS


def _oversized(args: tuple[Any, ...]) -> bool:
    """Does one argument carry more than MAX_KEY_CHARS of text (a string, or the strings of a tuple
    of Codes)? Per argument, so an entry holds at most a few times MAX_KEY_CHARS. Hot path (hundreds
    of calls per hook call): plain loops, exact type checks."""
    for a in args:
        cls = a.__class__
        if cls is str:
            if len(a) > MAX_KEY_CHARS:
                return True
        elif cls is tuple or isinstance(a, tuple):
            n = 0
            for item in a:
                if item.__class__ is str:
                    n += len(item)
                elif isinstance(item, tuple):
                    for s in item:
                        if s.__class__ is str:
                            n += len(s)
            if n > MAX_KEY_CHARS:
                return True
    return False


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    maxsize: int
    currsize: int


P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class Memoised(Protocol[P, R_co]):
    """A function wrapped by `text_memo`: called as the function, plus `cache_info` and `cache_clear`."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    def cache_info(self) -> CacheInfo: ...

    def cache_clear(self) -> None: ...


def text_memo(maxsize: int) -> Callable[[Callable[P, R]], Memoised[P, R]]:
    """A bounded memo of a pure function of short texts (positional arguments), cleared when full;
    a call with an argument over MAX_KEY_CHARS of text is computed without being stored. A hit
    costs one dict lookup: the size guard runs only on a miss (a stored key passed it)."""

    def decorate(fn: Callable[P, R]) -> Memoised[P, R]:
        cache: dict[tuple[Any, ...], Any] = {}
        stats = [0, 0]  # hits, misses
        compute: Callable[..., R] = fn  # called with positional arguments only

        @functools.wraps(fn)
        def memoised(*args: Any) -> Any:
            hit = cache.get(args, _MISS)
            if hit is not _MISS:
                stats[0] += 1
                return hit
            stats[1] += 1
            value = compute(*args)
            if not _oversized(args):
                if len(cache) >= maxsize:
                    cache.clear()
                cache[args] = value
            return value

        def cache_info() -> CacheInfo:
            return CacheInfo(stats[0], stats[1], maxsize, len(cache))

        def cache_clear() -> None:
            cache.clear()
            stats[:] = [0, 0]

        memoised.__dict__.update(cache_clear=cache_clear, cache_info=cache_info)
        return cast(Memoised[P, R], memoised)

    return decorate


class ConceptMemo(Generic[R]):
    """A bounded memo of a pure function of one CodeableConcept (or Coding list), keyed by the
    concept's JSON: the key (orjson, ~0.5 us) costs less than reading the codings and text again.
    The function must return an immutable value. Cleared when full."""

    def __init__(self, fn: Callable[[Any], R], maxsize: int = 8192):
        self._fn = fn
        self._maxsize = maxsize
        self._cache: dict[bytes, R] = {}

    def __call__(self, concept: Any) -> R:
        try:
            key = orjson.dumps(concept)
        except TypeError:  # not JSON (cannot come from a request): compute
            return self._fn(concept)
        if len(key) > MAX_KEY_CHARS:  # an outsized concept: computed, never stored
            return self._fn(concept)
        hit = self._cache.get(key, _MISS)
        if hit is _MISS:
            hit = self._fn(concept)
            if len(self._cache) >= self._maxsize:
                self._cache.clear()
            self._cache[key] = hit
        return hit

    def cache_clear(self) -> None:
        self._cache.clear()
