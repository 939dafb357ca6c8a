"""Suggestions of similar feature requests as an agent types: TF-IDF cosine over words and trigrams.

Plain Python, no dependency: each request is a bag of word tokens (title words count twice) and character
trigrams of those words (so "download" finds "downloads" and survives a typo). Weights are TF-IDF over the
account's open requests; the score is the cosine between the typed text and each request. An account has
hundreds of requests, not millions, so computing it per keystroke costs a few milliseconds.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "could", "do", "for", "from", "have",
    "how", "i", "if", "in", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or", "our", "please",
    "should", "so", "that", "the", "their", "them", "then", "there", "this", "to", "us", "want", "we", "what",
    "when", "which", "will", "with", "would", "you", "your",
})


def _fold(text: str) -> str:
    """Lower-case without accents, so that "vidéo" and "video" meet."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def tokens(text: str, weight: int = 1) -> Counter[str]:
    """Word tokens (``w:``) and word trigrams (``t:``) of ``text``, each counted ``weight`` times."""
    bag: Counter[str] = Counter()
    for word in _WORD.findall(_fold(text)):
        if word in STOPWORDS or len(word) < 2:
            continue
        bag["w:" + word] += weight
        padded = f" {word} "
        for start in range(len(padded) - 2):
            bag["t:" + padded[start:start + 3]] += weight
    return bag


@dataclass(frozen=True)
class Document:
    id: int
    title: str
    description: str


def _vector(bag: Counter[str], idf: dict[str, float]) -> dict[str, float]:
    weights = {term: (1 + math.log(count)) * idf.get(term, 0.0) for term, count in bag.items()}
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {term: w / norm for term, w in weights.items()} if norm else {}


def rank(query: str, documents: Sequence[Document], *, limit: int, min_score: float,
         exclude: Iterable[int] = ()) -> list[tuple[Document, float]]:
    """The documents most similar to ``query``, best first, with their cosine score (0..1)."""
    skip = set(exclude)
    candidates = [doc for doc in documents if doc.id not in skip]
    query_bag = tokens(query)
    if not query_bag or not candidates:
        return []
    bags = [tokens(doc.title, 2) + tokens(doc.description) for doc in candidates]
    frequency: Counter[str] = Counter(term for bag in bags for term in bag)
    total = len(bags)
    idf = {term: math.log((1 + total) / (1 + count)) + 1 for term, count in frequency.items()}
    query_vector = _vector(query_bag, idf)
    scored = []
    for doc, bag in zip(candidates, bags, strict=True):
        vector = _vector(bag, idf)
        score = sum(weight * vector.get(term, 0.0) for term, weight in query_vector.items())
        if score >= min_score:
            scored.append((doc, round(score, 4)))
    scored.sort(key=lambda pair: (-pair[1], pair[0].id))
    return scored[:limit]
