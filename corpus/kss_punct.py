"""kss's sentence splitter, loaded in a fraction of a second and run without its dead work.

Three costs of kss change nothing in what it returns, and we skip them:

1. ``import kss`` imports every kss module (g2p, paradigm, spacing correction...; koparadigm
   alone takes ~4 s) before the one we use: 8-10 s per process, paid by every build worker. We
   import only kss's sentence-splitting module: a bare ``kss`` package is registered while it
   loads and removed afterwards, so a later ``import kss`` elsewhere still gets the real package.
2. Exception 9 of kss's split rule (no split after ``no.``, ``Dr.``, ``3항.``...) walks back
   through each of 1,122 abbreviations one syllable at a time, for every ``.``: on real prose that
   is a third of kss's time. :class:`_Splitter` asks the same question with one set lookup per
   abbreviation length.
3. On the punct backend every character has the morpheme tag ``-``, so (a) a character's
   syllable tag depends on the character alone and is looked up once per character instead of
   trying kss's 13 tag rules per character, and (b) kss's ``_correct_wrong_tags`` pass, which
   only rewrites tags a morpheme analyser produces (JKS, EF, EC, EP, UNKNOWN), never fires:
   it is skipped.

Everything else is kss's own code: its ``_split_sentences`` runs unchanged, with our splitter
subclass and preprocessor put in its namespace copy. Nothing inside kss is patched, so plain
``kss.split_sentences`` in the same process behaves as before (the benchmark relies on this). The
output equals ``kss.split_sentences(pieces, backend="punct")`` exactly (tests compare them on
real and tricky text). This reaches into kss's private modules, so it is used only with the kss
release it was checked against (:data:`CHECKED_KSS`) and only for the punct backend; otherwise
:func:`load_split` returns plain ``kss.split_sentences``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import logging
import sys
import types
import warnings
from functools import lru_cache
from typing import Callable

CHECKED_KSS = ("6.0.",)  # kss releases whose private sentence modules this was checked against

SplitFn = Callable[[list[str]], list[list[str]]]


def load_split(backend: str, accelerate: bool = True) -> tuple[SplitFn, bool]:
    """A function from pieces to their sentences, and whether the accelerated path is used."""
    warnings.filterwarnings("ignore", module="kss")
    logging.getLogger("kss").setLevel(logging.ERROR)
    if accelerate and backend == "punct" and _kss_version().startswith(CHECKED_KSS):
        try:
            return _accelerated_punct(), True
        except (ImportError, AttributeError, TypeError):  # kss's insides moved: fall back
            pass
    from kss import split_sentences

    def plain(pieces: list[str]) -> list[list[str]]:
        out = split_sentences(pieces, backend=backend, num_workers=1)
        return [out] if len(pieces) == 1 else out  # kss unwraps a one-element list

    return plain, False


def _kss_version() -> str:
    try:
        return importlib.metadata.version("kss")
    except importlib.metadata.PackageNotFoundError:
        return ""


def _import_sentence_module() -> types.ModuleType:
    """kss's split_sentences module without running ``kss/__init__.py`` (see point 1 above)."""
    name = "kss._modules.sentences.split_sentences"
    if "kss" in sys.modules:  # the real package (or an earlier load): nothing to save
        return importlib.import_module(name)
    spec = importlib.util.find_spec("kss")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("kss is not installed")
    bare = types.ModuleType("kss")
    bare.__path__ = list(spec.submodule_search_locations)
    sys.modules["kss"] = bare
    try:
        return importlib.import_module(name)
    finally:
        # Forget the bare package: `import kss` later runs the real __init__, which finds the
        # submodules loaded here already in sys.modules.
        if sys.modules.get("kss") is bare:
            del sys.modules["kss"]


@lru_cache(maxsize=1)
def _accelerated_punct() -> SplitFn:
    module = _import_sentence_module()
    splitter_class, embracing_class, preprocessor_class = _kss_subclasses()
    from kss._utils.sanity_checks import _check_analyzer_backend

    raw = module._split_sentences.__wrapped__  # kss's function under its lru_cache
    namespace = dict(raw.__globals__, SentenceSplitter=splitter_class, EmbracingProcessor=embracing_class)
    split_one = lru_cache(maxsize=500)(
        types.FunctionType(raw.__code__, namespace, raw.__name__, raw.__defaults__, raw.__closure__)
    )
    namespace["_split_sentences"] = split_one  # its recursive calls (quote realignment) use ours
    backend = _check_analyzer_backend("punct")
    if backend._backend != "character":
        raise TypeError("kss's punct backend is no longer character-level")
    preprocessor = preprocessor_class()
    postprocessor = module.postprocessors[()]

    def split(pieces: list[str]) -> list[list[str]]:
        return [split_one(piece, backend=backend, strip=True, preprocessor=preprocessor,
                          postprocessor=postprocessor) for piece in pieces]

    return split


def _kss_subclasses() -> tuple[type, type, type]:
    """kss's splitter, quote tracker and preprocessor with the same-output shortcuts above."""
    from kss._elements.empty import Empty
    from kss._elements.subclasses import Syllable
    from kss._modules.sentences.embracing_processor import EmbracingProcessor
    from kss._modules.sentences.sentence_preprocessor import SentencePreprocessor
    from kss._modules.sentences.sentence_splitter import SentenceSplitter

    class _Splitter(SentenceSplitter):
        def __init__(self, syllable):  # kss's, without the call chain: one per character
            self.ignores = None
            self.syllable = syllable

        def _sf(self):
            # kss's rule starts with "is this syllable final punctuation (SF)?"; asked first here,
            # without the cached-method machinery, because almost every syllable is not.
            return "SF" in self.syllable.pos and super()._sf()

        def _check_multiple_prev_texts_from_before(self, *texts):
            # True when the characters just before this one end with one of `texts`; kss compares
            # each text syllable by syllable, we compare per length against a set.
            groups, longest = _by_length(texts)
            if 0 in groups:
                return True
            node, chars = self.syllable, []
            for length in range(1, longest + 1):
                node = node.prev
                if isinstance(node, Empty):  # ran off the start: no longer text can match
                    return False
                chars.append(node.text)
                group = groups.get(length)
                if group and tuple(reversed(chars)) in group:
                    return True
            return False

    class _Embracing(EmbracingProcessor):
        def empty(self):  # kss's, asked once per character: are both quote stacks empty?
            return not self.single_stack and not self.double_stack

    class _PunctPreprocessor(SentencePreprocessor):
        _tags: dict[str, str] = {}

        def _tag(self, char: str) -> str:
            tag = self._tags.get(char)
            if tag is None:  # kss's own rules, asked once per character
                tag = next((t for rule, t in self._correction.items() if rule(char, "-")), "-")
                self._tags[char] = tag
            return tag

        def _convert_morphemes_to_syllables(self, input_morphemes):
            # kss's loop, with Syllable's fields set directly: each morpheme is one character here.
            prev = Syllable(" ", "SP", idx=0)
            syllables = [prev]
            new, tags = object.__new__, self._tags
            for char_idx, (char, _) in enumerate(input_morphemes, start=1):
                syllable = new(Syllable)
                syllable.text, syllable.pos, syllable.idx = char, tags.get(char) or self._tag(char), char_idx
                syllable._prev = prev
                prev._next = syllable
                syllables.append(syllable)
                prev = syllable
            return syllables

        def _correct_wrong_tags(self, syllables):
            return syllables  # its rules need analyser tags the punct backend never produces

    return _Splitter, _Embracing, _PunctPreprocessor


@lru_cache(maxsize=8)
def _by_length(texts: tuple[str, ...]) -> tuple[dict[int, set[tuple[str, ...]]], int]:
    groups: dict[int, set[tuple[str, ...]]] = {}
    for text in texts:
        groups.setdefault(len(text), set()).add(tuple(text))
    return groups, max(groups, default=0)
