"""The marking's words in one language: a diagnosis (an id and its parameters) made a sentence by
``templates/lang/marking/<lang>.j2``, and the words the reports print around it.

The marker says *what* it found (``Said("sign_flipped", expected="0.742")``); the words template,
one macro per diagnosis id, says it.  A teacher's ``lang/marking/<lang>.j2`` in front of the shipped
one may hold only the macros it changes: the rest come from the shipped file of that language (English
for a language only the teacher's folder has).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from ..documents.render import markdown_environment, plain_words
from ..errors import UsageError
from ..hints import quoted

__all__ = ["MARKING_WORDS", "MarkingWords", "Said", "check_marking_lang", "marking_languages", "marking_words"]

#: where a language's marking words live: ``lang/marking/<lang>.j2`` (next to the handout's ``lang/<lang>.j2``)
MARKING_WORDS = "lang/marking"


@dataclass(frozen=True)
class Said:
    """A diagnosis: its id (a macro of the words template) and its parameters (names and formulas as
    the marker marked them, values as text, counts, lists, other diagnoses)."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def __init__(self, key: str, **params: Any):
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "params", params)


class MarkingWords:
    """One language's marking words: ``say`` a diagnosis, and the reports' words (``w.verdicts``,
    ``w.totals(...)``) as attributes, a teacher's first, the shipped file's for what it leaves out."""

    def __init__(self, lang: str):
        self.lang = lang
        self._modules = plain_words(f"{MARKING_WORDS}/{lang}.j2", f"{MARKING_WORDS}/en.j2")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = next((v for module in self._modules if (v := getattr(module, name, None)) is not None), None)
        if value is None:
            raise AttributeError(f"{MARKING_WORDS}/{self.lang}.j2 has no {name}")
        return (lambda *a, **k: str(value(*a, **k))) if callable(value) else value

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        """A report marked in a worker process comes back with its language, worded by the parent's templates."""
        return marking_words, (self.lang,)

    def say(self, said: Said | str | None) -> str:
        """The sentence of a diagnosis (its parameters said first where they are diagnoses too)."""
        if said is None or isinstance(said, str):
            return said or ""
        params = {k: self._param(v) for k, v in said.params.items()}
        return str(getattr(self, said.key)(**params))

    def _param(self, value: Any) -> Any:
        if isinstance(value, Said):
            return self.say(value)
        if isinstance(value, list | tuple):
            return [self._param(v) for v in value]
        return value


def marking_words(lang: str = "en") -> MarkingWords:
    """The marking words of ``lang`` in the templates in use (a teacher's folder first)."""
    env = markdown_environment()
    return _words(lang, env)


@functools.cache
def _words(lang: str, env: jinja2.Environment) -> MarkingWords:
    return MarkingWords(lang)


def marking_languages() -> list[str]:
    """The languages a marking report can be written in (the shipped marking words, and a teacher's)."""
    loader = markdown_environment().loader
    assert loader is not None
    prefix = MARKING_WORDS + "/"
    return sorted(Path(name).stem for name in loader.list_templates()
                  if name.startswith(prefix) and name.endswith(".j2") and "/" not in name[len(prefix):])


def check_marking_lang(lang: str, field: str = "lang") -> None:
    """One clear line, naming ``field``, for a language without marking words."""
    known = marking_languages()
    if lang not in known:
        raise UsageError(f"{field}: no marking words for {quoted(lang, 30)} (known: {', '.join(known)})",
                         setting=field)
