"""kss's sentence splitter, loaded in a fraction of a second and run without its dead work.

Five costs of kss change nothing in what it returns, and we skip or cut them:

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
   it is skipped, and so is the pass that puts a space before emoji when a piece has none.
4. kss protects some strings from splitting by swapping them for digit strings and back
   (``backup``/``restore``): per piece and per output sentence it searches the text for 8,112
   "letter, apostrophe, letter" keys and every protected string. One regex tells whether any
   key can be there (a Latin letter, an apostrophe, a Latin letter; a run of digits as long as
   the shortest stand-in) and the search is skipped when none can.
5. kss allocates a linked list of objects per character, with cycles, so only Python's cyclic
   collector frees them; at its default threshold it runs every 700 allocations, a quarter of
   kss's time. While kss runs (plain kss from :func:`load_split` too), the youngest generation
   is collected every 100,000 allocations instead; the cycles are still freed, a few MB at a time.

Everything else is kss's own code: its ``_split_sentences`` runs unchanged, with our subclasses
of its splitter, quote tracker, pre- and postprocessor put in its namespace copy. Nothing inside kss is patched, so plain
``kss.split_sentences`` in the same process behaves as before (the benchmark relies on this). The
output equals ``kss.split_sentences(pieces, backend="punct")`` exactly (tests compare them on
real and tricky text). This reaches into kss's private modules, so it is used only with the kss
release it was checked against (:data:`CHECKED_KSS`) and only for the punct backend; otherwise
:func:`load_split` returns plain ``kss.split_sentences``.
"""

from __future__ import annotations

import gc
import importlib
import importlib.metadata
import importlib.util
import logging
import re
import sys
import types
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache

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
        with fewer_collections():
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


@contextmanager
def fewer_collections(young: int = 100_000) -> Iterator[None]:
    """Collect Python's youngest generation every ``young`` allocations meanwhile (point 5)."""
    before = gc.get_threshold()
    gc.set_threshold(max(young, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


@lru_cache(maxsize=1)
def _accelerated_punct() -> SplitFn:
    module = _import_sentence_module()
    splitter_class, embracing_class = _splitting_subclasses()
    preprocessor_class, postprocessor_class = _processing_subclasses()
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
    preprocessor, postprocessor = preprocessor_class(), postprocessor_class()

    def split(pieces: list[str]) -> list[list[str]]:
        with fewer_collections():
            return [
                split_one(piece, backend=backend, strip=True, preprocessor=preprocessor, postprocessor=postprocessor)
                for piece in pieces
            ]

    return split


def _splitting_subclasses() -> tuple[type, type]:
    """kss's splitter and quote tracker with the same-output shortcuts above (points 2 and 3)."""
    from kss._elements.empty import Empty
    from kss._modules.sentences.embracing_processor import EmbracingProcessor
    from kss._modules.sentences.sentence_splitter import SentenceSplitter

    class _Splitter(SentenceSplitter):
        def __init__(self, syllable):  # kss's, without the call chain: one per character
            self.ignores = None
            self.syllable = syllable

        def check_split_right_now(self):  # kss's check_text("¶"), without the call
            return "¶" in self.syllable.text

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

    return _Splitter, _Embracing


def _processing_subclasses() -> tuple[type, type]:
    """kss's pre- and postprocessor with the same-output shortcuts above (points 3 and 4)."""
    from kss._elements.subclasses import Syllable
    from kss._modules.sentences.sentence_postprocessor import SentencePostprocessor
    from kss._modules.sentences.sentence_preprocessor import SentencePreprocessor

    heavy_key = _heavy_key_pattern(SentencePreprocessor._heavy_backup)

    class _PunctPreprocessor(SentencePreprocessor):
        _tags: dict[str, str] = {}

        def preprocess(self, input_morphemes):
            # kss's steps, less the tag correction that never fires and the emoji pass when a
            # piece has no emoji.
            syllables, emoji = self._syllables(input_morphemes)
            return self._append_space_before_emoji(syllables) if emoji else syllables

        @lru_cache(100)  # noqa: B019  (as kss's: one instance per process, never freed anyway)
        def backup(self, inputs: str):
            self._add_url_or_email(inputs)
            inputs = self._replace(inputs, self._normal_backup)
            if heavy_key.search(inputs):  # else none of the 8,112 keys is in the text
                for source, purpose_dict in self._heavy_backup.items():
                    if source in inputs:
                        inputs = self._replace(inputs, purpose_dict, restore=False)
            return inputs

        def _tag(self, char: str) -> str:
            tag = self._tags.get(char)
            if tag is None:  # kss's own rules, asked once per character
                tag = next((t for rule, t in self._correction.items() if rule(char, "-")), "-")
                self._tags[char] = tag
            return tag

        def _syllables(self, input_morphemes) -> tuple[list, bool]:
            # kss's _convert_morphemes_to_syllables, with Syllable's fields set directly (each
            # morpheme is one character here); also says whether any syllable is an emoji.
            prev = Syllable(" ", "SP", idx=0)
            syllables = [prev]
            new, tags, emoji = object.__new__, self._tags, False
            for char_idx, (char, _) in enumerate(input_morphemes, start=1):
                syllable = new(Syllable)
                syllable.text, syllable.pos, syllable.idx = char, tags.get(char) or self._tag(char), char_idx
                emoji = emoji or syllable.pos == "EMOJI"
                syllable._prev = prev
                prev._next = syllable
                syllables.append(syllable)
                prev = syllable
            return syllables, emoji

    class _Postprocessor(SentencePostprocessor):
        @lru_cache(100)  # noqa: B019  (as kss's)
        def restore(self, outputs: str, inputs: str):
            if _stand_in_pattern(self._normal_backup).search(outputs) is None:
                return outputs  # no digit run long enough to be a stand-in: nothing to restore
            return SentencePostprocessor.restore.__wrapped__(self, outputs, inputs)

    return _PunctPreprocessor, _Postprocessor


def _heavy_key_pattern(heavy_backup: dict[str, dict[str, str]]) -> re.Pattern:
    """A regex that matches wherever any of kss's "letter, quote, letter" backup keys could."""
    keys = [key for purpose in heavy_backup.values() for key in purpose]
    if not keys or any(len(key) != 3 for key in keys):
        raise TypeError("kss's heavy backup keys are no longer letter-quote-letter")
    first, middle, last = ("".join(sorted({key[i] for key in keys})) for i in range(3))
    return re.compile(f"[{re.escape(first)}][{re.escape(middle)}][{re.escape(last)}]")


def _stand_in_pattern(normal_backup: dict[str, str]) -> re.Pattern:
    """A run of ASCII digits as long as the shortest stand-in kss may have put in a text.

    kss adds a stand-in for every URL and e-mail address it meets and never removes one, so the
    pattern is recomputed only when the number of stand-ins has changed."""
    global _stand_in
    if _stand_in[0] != len(normal_backup):
        from kss._modules.sentences.sentence_processor import SentenceProcessor

        values = list(normal_backup.values())
        values += [v for purpose in SentenceProcessor._heavy_backup.values() for v in purpose.values()]
        if not all(v.isascii() and v.isdigit() for v in values):
            raise TypeError("kss's backup stand-ins are no longer digit strings")
        _stand_in = (len(normal_backup), re.compile(f"[0-9]{{{min(map(len, values))},}}"))
    return _stand_in[1]


_stand_in: tuple[int, re.Pattern | None] = (-1, None)


@lru_cache(maxsize=8)
def _by_length(texts: tuple[str, ...]) -> tuple[dict[int, set[tuple[str, ...]]], int]:
    groups: dict[int, set[tuple[str, ...]]] = {}
    for text in texts:
        groups.setdefault(len(text), set()).add(tuple(text))
    return groups, max(groups, default=0)
