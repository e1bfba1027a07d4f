"""Word matching on whole words and word prefixes, tuned for long descriptions.

A description is tokenised once into lower-case words (`Doc`). A `Lexicon` is a list of terms written as:

- ``"deploy"``: the exact word;
- ``"deploy*"``: any word starting with "deploy" (deploys, deployment), never a word that merely contains it;
- ``"drop table"``: consecutive words (the last one may end in ``*``).

Matching works on tokens, so "author" never matches "auth", "stable" never matches "table", and "dropdown" never
matches "drop". Exact words are set look-ups, prefixes a binary search in the sorted vocabulary, phrases a
substring search in the space-joined token stream; all of it is linear in the text and fast for 2,000 words.
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
    r"(?<![\w/.-])((?:[A-Za-z0-9_-]+/)*[A-Za-z0-9_.-]*[A-Za-z0-9_-]"
    r"\.(?:py|pyi|ts|tsx|js|jsx|mjs|md|rst|json|ya?ml|toml|cfg|ini|txt|html|css|scss|rs|go|java|kt|rb|sh|sql|"
    r"lock|conf|cs|csproj|tf|proto|graphql))(?![\w/-])"
)

_LIBRARY_NAMES = frozenset(
    {
        "node",
        "next",
        "nuxt",
        "vue",
        "react",
        "express",
        "nest",
        "three",
        "d3",
        "chart",
        "socket",
        "ember",
        "alpine",
    }
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
    """A named set of terms; reports which terms occur in a `Doc`."""

    __slots__ = ("_exact", "_phrases", "_prefixes", "name", "terms")

    def __init__(self, name: str, terms: Iterable[str]) -> None:
        self.name = name
        self.terms: tuple[str, ...] = tuple(dict.fromkeys(term.strip().lower() for term in terms))
        self._exact: list[tuple[str, str]] = []
        self._prefixes: list[tuple[str, str]] = []
        self._phrases: list[tuple[str, str | re.Pattern[str]]] = []
        for term in self.terms:
            words = _TOKEN_RE.findall(term.rstrip("*"))
            if not words:
                raise ValueError(f"lexicon {name!r}: term {term!r} has no words")
            if len(words) > 1:
                body = " ".join(words)
                if term.endswith("*"):
                    self._phrases.append((term, re.compile(r" " + re.escape(body) + r"[a-z0-9]*(?= )")))
                else:
                    self._phrases.append((term, f" {body} "))
            elif term.endswith("*"):
                self._prefixes.append((term, words[0]))
            else:
                self._exact.append((term, words[0]))

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
        joined = doc.joined
        for term, needle in self._phrases:
            if (needle in joined) if isinstance(needle, str) else needle.search(joined):
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
        joined = doc.joined
        return any(
            (needle in joined) if isinstance(needle, str) else needle.search(joined)
            for _, needle in self._phrases
        )

    def matches_token(self, token: str) -> bool:
        """Whether a single token is one of the lexicon's single-word terms."""
        return any(token == word for _, word in self._exact) or any(
            token.startswith(prefix) for _, prefix in self._prefixes
        )


def sentences(text: str) -> list[str]:
    """Split text into sentences or clauses separated by strong punctuation or line breaks."""
    return [part for part in _SENTENCE_SPLIT_RE.split(text) if part.strip()]


def headline(text: str, limit: int = 160) -> str:
    """The first sentence of a description, whitespace collapsed, without its final full stop, at most `limit`."""
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
    for match in _PATH_RE.finditer(text):
        path = match.group(1)
        start = match.start(1)
        if path.startswith(("/", "-", ".")) or text[max(0, start - 3) : start].endswith("://"):
            continue
        if "/" not in path and path.rsplit(".", 1)[0].lower() in _LIBRARY_NAMES:
            continue  # "Node.js", "Next.js": technology names, not files
        found.setdefault(path, None)
        if len(found) >= limit:
            break
    return list(found)


def terms(text: str) -> tuple[str, ...]:
    """Split a comma-separated word list ("deploy*, ci cd, k8s") into its terms."""
    return tuple(part.strip() for part in text.split(",") if part.strip())
