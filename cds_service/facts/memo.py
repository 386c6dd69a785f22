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
from typing import Any, Callable

import orjson

MAX_KEY_CHARS = 2048
_MISS = object()


def _key_chars(args: tuple) -> int:
    """The text in the arguments: strings, and strings inside tuples (of Codes) one level down."""
    n = 0
    for a in args:
        if isinstance(a, str):
            n += len(a)
        elif isinstance(a, tuple):
            for item in a:
                if isinstance(item, str):
                    n += len(item)
                elif isinstance(item, tuple):
                    n += sum(len(s) for s in item if isinstance(s, str))
    return n


def text_memo(maxsize: int):
    """`functools.lru_cache(maxsize)` for a pure function of short texts (positional arguments);
    calls whose text exceeds MAX_KEY_CHARS are computed without being stored."""

    def decorate(fn: Callable) -> Callable:
        cached = functools.lru_cache(maxsize=maxsize)(fn)

        @functools.wraps(fn)
        def memoised(*args):
            if _key_chars(args) > MAX_KEY_CHARS:
                return fn(*args)
            return cached(*args)

        memoised.cache_clear = cached.cache_clear        # type: ignore[attr-defined]
        memoised.cache_info = cached.cache_info          # type: ignore[attr-defined]
        return memoised

    return decorate


class ConceptMemo:
    """A bounded memo of a pure function of one CodeableConcept (or Coding list), keyed by the
    concept's JSON: the key (orjson, ~0.5 us) costs less than reading the codings and text again.
    The function must return an immutable value. Cleared when full."""

    def __init__(self, fn: Callable[[Any], Any], maxsize: int = 8192):
        self._fn = fn
        self._maxsize = maxsize
        self._cache: dict[bytes, Any] = {}

    def __call__(self, concept: Any) -> Any:
        try:
            key = orjson.dumps(concept)
        except TypeError:               # not JSON (cannot come from a request): compute
            return self._fn(concept)
        if len(key) > MAX_KEY_CHARS:    # an outsized concept: computed, never stored
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
