"""What the bot answers: text, or news articles (a WeChat news reply)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Article:
    title: str
    description: str
    url: str
    image: str = ""


@dataclass(frozen=True)
class Reply:
    text: str = ""
    articles: tuple[Article, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "articles": [a.__dict__ for a in self.articles]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Reply:
        return cls(d.get("text", ""), tuple(Article(**a) for a in d.get("articles", ())))
