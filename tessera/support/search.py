"""Text search for the help centre: jieba-segmented Chinese and English words, ranked by BM25.

Pure Python over a small in-memory index (a few hundred entries at most); no database.
jieba's dictionary is loaded once, lazily, with its log silenced.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass, field

_JIEBA_LOCK = threading.Lock()
_jieba = None

_CJK = re.compile(r"[\u3400-\u9fff]+")
_WORD = re.compile(r"[\u3400-\u9fff]+|[a-z0-9]+(?:'[a-z]+)?")

# Words that carry no meaning for matching a question (both languages).
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "am",
        "was",
        "were",
        "be",
        "been",
        "do",
        "does",
        "did",
        "i",
        "my",
        "me",
        "we",
        "our",
        "you",
        "your",
        "it",
        "its",
        "this",
        "that",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "by",
        "with",
        "and",
        "or",
        "can",
        "could",
        "would",
        "should",
        "will",
        "how",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "there",
        "any",
        "get",
        "got",
        "have",
        "has",
        "had",
        "if",
        "not",
        "no",
        "yes",
        "please",
        "so",
        "than",
        "then",
        "up",
        "out",
        "about",
        "s",
        "t",
        "m",
        "don",
        "didn",
        "isn",
        "的",
        "了",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "我",
        "我们",
        "你",
        "您",
        "他",
        "她",
        "它",
        "是",
        "在",
        "有",
        "和",
        "与",
        "就",
        "都",
        "也",
        "还",
        "要",
        "会",
        "能",
        "可以",
        "可",
        "怎么",
        "怎样",
        "如何",
        "什么",
        "哪里",
        "哪儿",
        "多少",
        "一下",
        "一个",
        "这个",
        "那个",
        "请问",
        "请",
        "想",
        "需要",
        "应该",
        "到",
        "给",
        "把",
        "被",
        "让",
        "对",
        "从",
        "个",
        "些",
        "么",
    ]
)

# Words people use that mean the same thing for the help centre.
SYNONYMS = {
    "退款": "退票",
    "refunded": "refund",
    "entrance": "gate",
    "入口": "门",
    "检票口": "门",
    "parked": "parking",
    "park": "parking",
    "paid": "pay",
    "paying": "pay",
    "payment": "pay",
    "付款": "支付",
    "付钱": "支付",
    "kid": "children",
    "child": "children",
    "开票": "开售",
    "开抢": "开售",
    "发售": "开售",
}


def _segmenter():
    global _jieba
    if _jieba is None:
        with _JIEBA_LOCK:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def tokens(text: str) -> list[str]:
    """Lower-cased words of ``text``: Chinese runs segmented by jieba (search mode, so
    compounds also give their parts), English and digits as words; stopwords dropped."""
    text = (text or "").lower()
    found: list[str] = []
    for match in _WORD.finditer(text):
        piece = match.group(0)
        if _CJK.fullmatch(piece):
            for word in _segmenter().cut_for_search(piece):
                if word not in STOPWORDS:
                    found.append(SYNONYMS.get(word, word))
                    if len(word) > 1:
                        # single characters too, so 退 matches 退票 and 门 matches 哪个门
                        found.extend(ch for ch in word if ch not in STOPWORDS)
            continue
        if piece.endswith("'s"):
            piece = piece[:-2]
        if piece in STOPWORDS or (len(piece) < 2 and not piece.isdigit()):
            continue
        if len(piece) > 3 and piece.endswith("s") and not piece.endswith(("ss", "us")):
            piece = piece[:-1]  # plural to singular, the one English stem that matters here
        found.append(SYNONYMS.get(piece, piece))
    return found


@dataclass
class Document:
    key: object
    fields: list[tuple[str, float]]  # (text, weight)


@dataclass
class Hit:
    key: object
    score: float


@dataclass
class Index:
    """BM25 (k1, b) over weighted fields: a word's frequency is the sum of its weighted
    counts in the fields, the length the weighted sum of the fields' lengths."""

    k1: float = 1.2
    b: float = 0.75
    keys: list = field(default_factory=list)
    freqs: list[dict[str, float]] = field(default_factory=list)
    lengths: list[float] = field(default_factory=list)
    df: Counter = field(default_factory=Counter)

    @classmethod
    def build(cls, documents: list[Document]) -> Index:
        index = cls()
        for document in documents:
            freq: dict[str, float] = {}
            length = 0.0
            for text, weight in document.fields:
                words = tokens(text)
                length += weight * len(words)
                for word in words:
                    freq[word] = freq.get(word, 0.0) + weight
            index.keys.append(document.key)
            index.freqs.append(freq)
            index.lengths.append(length)
            index.df.update(freq.keys())
        return index

    def idf(self, word: str) -> float:
        n = len(self.keys)
        df = self.df.get(word, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def search(self, query: str, *, limit: int = 5) -> list[Hit]:
        words = tokens(query)
        if not words or not self.keys:
            return []
        average = sum(self.lengths) / len(self.lengths) or 1.0
        scores = []
        for position, freq in enumerate(self.freqs):
            norm = self.k1 * (1 - self.b + self.b * self.lengths[position] / average)
            score = 0.0
            for word in set(words):
                tf = freq.get(word)
                if tf:
                    score += self.idf(word) * tf * (self.k1 + 1) / (tf + norm)
            if score > 0:
                scores.append(Hit(self.keys[position], score))
        scores.sort(key=lambda hit: (-hit.score, str(hit.key)))
        return scores[:limit]
