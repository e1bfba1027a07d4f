"""Word matching on whole words and word prefixes, tuned for long descriptions.

A description is tokenised once into lower-case words (`Doc`). A `Lexicon` is a list of terms written as:

- ``"deploy"``: the exact word;
- ``"deploy*"``: any word starting with "deploy" (deploys, deployment), never a word that merely contains it;
- ``"drop table"``: consecutive words (the last one may end in ``*``).

Matching works on tokens, so "author" never matches "auth", "stable" never matches "table", and "dropdown"
never matches "drop". Exact words are set look-ups, prefixes a binary search in the sorted vocabulary, phrases
a substring search in the space-joined token stream; all of it is linear in the text and fast for 2,000 words.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable

_TOKEN_RE = re.compile(r"[a-z0-9]+(?:\+\+|#)?")
_SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?])\s+|\n+|;\s*")
_FIRST_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])|\n")
_WHITESPACE_RE = re.compile(r"\s+")
_CLAUSE_SPLIT_RE = re.compile(r",\s+(?:and\s+|then\s+)?|;\s*|\s+and\s+(?=[a-z]+\s)|\s+then\s+")
_PATH_RE = re.compile(
    r"(?:[A-Za-z0-9_-]+/)*[A-Za-z0-9_.-]*[A-Za-z0-9_-]"
    r"\.(?:py|pyi|ts|tsx|js|jsx|mjs|md|rst|json|ya?ml|toml|cfg|ini|txt|html|css|scss|rs|go|java|kt|rb|sh|sql|"
    r"lock|conf|cs|csproj|tf|proto|graphql)"
)


def terms(text: str) -> tuple[str, ...]:
    """Split a comma-separated word list ("deploy*, ci cd, k8s") into its terms."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


#: Technology names that look like file names ("Node.js", "Next.js").
_LIBRARY_NAMES = frozenset(
    terms("node, next, nuxt, vue, react, express, nest, three, d3, chart, socket, ember, alpine")
)


class Doc:
    """A text tokenised for matching. Build once, query many times."""

    __slots__ = ("_sorted", "joined", "tokens", "words")

    def __init__(self, text: str) -> None:
        self.tokens: list[str] = _TOKEN_RE.findall(text.lower())
        self.words: frozenset[str] = frozenset(self.tokens)
        self._sorted: list[str] = sorted(self.words)
        self.joined: str = " " + " ".join(self.tokens) + " "

    def has_prefix(self, prefix: str) -> bool:
        index = bisect_left(self._sorted, prefix)
        return index < len(self._sorted) and self._sorted[index].startswith(prefix)

    def __len__(self) -> int:
        return len(self.tokens)


class Lexicon:
    """A named set of terms; reports which terms occur in a `Doc`.

    Phrases are only searched for when their first word occurs in the document, so a lexicon costs a few set
    look-ups on texts that do not mention it.
    """

    __slots__ = ("_exact", "_needles", "_phrases", "_prefixes", "name", "terms")

    def __init__(self, name: str, terms: Iterable[str]) -> None:
        self.name = name
        self.terms: tuple[str, ...] = tuple(dict.fromkeys(term.strip().lower() for term in terms))
        self._exact: list[tuple[str, str]] = []
        self._prefixes: list[tuple[str, str]] = []
        # (term, first word, needle): the needle is a substring of the joined tokens, or a pattern when the
        # phrase ends in a prefix.
        self._phrases: list[tuple[str, str, str | re.Pattern[str]]] = []
        for term in self.terms:
            words = _TOKEN_RE.findall(term.rstrip("*"))
            if not words:
                raise ValueError(f"lexicon {name!r}: term {term!r} has no words")
            if len(words) > 1:
                body = " ".join(words)
                if term.endswith("*"):
                    pattern = re.compile(r" " + re.escape(body) + r"[a-z0-9]*(?= )")
                    self._phrases.append((term, words[0], pattern))
                else:
                    self._phrases.append((term, words[0], f" {body} "))
            elif term.endswith("*"):
                self._prefixes.append((term, words[0]))
            else:
                self._exact.append((term, words[0]))
        #: Lower-case fragments of which at least one must be a substring of any text the lexicon matches.
        self._needles: tuple[str, ...] = tuple(
            {word for _, word in self._exact}
            | {prefix for _, prefix in self._prefixes}
            | {f for _, f, _ in self._phrases}
        )

    def hits(self, doc: Doc) -> list[str]:
        """Terms found in the document, in the lexicon's own order."""
        found: set[str] = set()
        words = doc.words
        for term, word in self._exact:
            if word in words:
                found.add(term)
        for term, prefix in self._prefixes:
            if doc.has_prefix(prefix):
                found.add(term)
        for term, first, needle in self._phrases:
            if first in words and _phrase_in(needle, doc.joined):
                found.add(term)
        return [term for term in self.terms if term in found]

    def count(self, doc: Doc) -> int:
        return len(self.hits(doc))

    def matches(self, doc: Doc) -> bool:
        words = doc.words
        if any(word in words for _, word in self._exact):
            return True
        if any(doc.has_prefix(prefix) for _, prefix in self._prefixes):
            return True
        return any(first in words and _phrase_in(needle, doc.joined) for _, first, needle in self._phrases)

    def may_match(self, lowered_text: str) -> bool:
        """A cheap pre-check on raw lower-case text: False means `matches` would be False too."""
        return any(needle in lowered_text for needle in self._needles)


def _phrase_in(needle: str | re.Pattern[str], joined: str) -> bool:
    return needle in joined if isinstance(needle, str) else needle.search(joined) is not None


def sentences(text: str) -> list[str]:
    """Split text into sentences or clauses separated by strong punctuation or line breaks."""
    return [part for part in _SENTENCE_SPLIT_RE.split(text) if part.strip()]


def headline(text: str, limit: int = 160) -> str:
    """The description's first sentence, whitespace collapsed, without its full stop, cut at `limit`."""
    first = _FIRST_SENTENCE_RE.split(text.strip(), maxsplit=1)[0]
    first = _WHITESPACE_RE.sub(" ", first).strip().rstrip(".:;, ")
    if len(first) > limit:
        cut = first[:limit].rsplit(" ", 1)[0].rstrip(",;: ")
        first = cut + "..."
    return first or _WHITESPACE_RE.sub(" ", text.strip())[:limit]


def clauses(text: str) -> list[str]:
    """Split a sentence into clauses on commas, semicolons, "and" and "then"."""
    parts = [part.strip(" ,;.") for part in _CLAUSE_SPLIT_RE.split(text)]
    return [part for part in parts if len(part.split()) >= 2]


def slugify(words: Iterable[str], max_words: int = 5, max_length: int = 40) -> str:
    chosen: list[str] = []
    length = 0
    for word in words:
        if len(chosen) >= max_words or length + len(word) > max_length:
            break
        chosen.append(word)
        length += len(word) + 1
    return "-".join(chosen)


def mentioned_paths(text: str, limit: int = 10) -> list[str]:
    """Relative file paths named in the text (absolute paths and URLs are ignored)."""
    found: dict[str, None] = {}
    for raw in text.split():
        if "." not in raw:
            continue
        word = raw.strip("()[]{}<>,;:'\"`!?*").rstrip(".")
        if not _PATH_RE.fullmatch(word) or "://" in raw or word.startswith(("/", "-", ".")):
            continue
        if "/" not in word and word.rsplit(".", 1)[0].lower() in _LIBRARY_NAMES:
            continue  # "Node.js", "Next.js": technology names, not files
        found.setdefault(word, None)
        if len(found) >= limit:
            break
    return list(found)
