"""Guess the department and kind (投诉, 建议, 咨询, 表扬) of a complaint from its words (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from models.errors import RegisterError

TOPICS_FILE = Path(__file__).with_name("topics.yaml")


@dataclass(frozen=True)
class Topics:
    default_department: str
    departments: tuple[tuple[str, tuple[str, ...]], ...]
    default_kind: str
    kinds: tuple[tuple[str, tuple[str, ...]], ...]

    def guess(self, text: str) -> tuple[str, str]:
        """Return (department, kind) for a text: the department with most matching words; the kind whose word
        comes first in the text ("请问…能不能留宿" opens as a question), the listed order between equals."""
        scores = [(sum(text.count(w) for w in words), name) for name, words in self.departments]
        best = max(scores, default=(0, self.default_department))
        department = best[1] if best[0] > 0 else self.default_department
        found = [(min(at), k) for k, words in self.kinds
                 if (at := [text.find(w) for w in words if w in text])]
        kind = min(found, key=lambda f: f[0])[1] if found else self.default_kind
        return department, kind


@lru_cache(maxsize=8)
def load_topics(departments: tuple[str, ...], path: Path = TOPICS_FILE) -> Topics:
    """Load the topic words for a register's departments; fail loudly on a malformed file."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        deps = {str(k): tuple(str(w) for w in v) for k, v in doc["departments"].items()}
        kinds = tuple((str(k), tuple(str(w) for w in v)) for k, v in doc["kinds"].items())
        default_dep, default_kind = str(doc["default_department"]), str(doc["default_kind"])
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise RegisterError(f"topic words {path} are malformed: {exc}") from exc
    if default_kind not in dict(kinds):
        raise RegisterError(f"topic words: default_kind {default_kind!r} is not one of the kinds")
    fallback = default_dep if default_dep in departments else (departments[0] if departments else default_dep)
    return Topics(fallback, tuple((d, w) for d, w in deps.items() if d in departments), default_kind, kinds)
