"""Say in words why the parser read a message as it did (`repairbot parse --explain`).

The parse keeps what decided it: the intent cue groups found and every
intent's score, the places read only as hints (and the grammar that made them
so), the words read as other words with their confidence.  This module turns
that into short lines a person can check against the lexicon.
"""

from __future__ import annotations

from dialogs.nlu.parse import Parse

# What the dialog does at each confidence level of a correction.
_LEVEL_ACTION = {"high": "taken", "middle": "confirm 「您是说…吗」", "low": "not used"}


def explain(p: Parse) -> list[str]:
    """Return the reasons for a parse, one line each: intent, places, corrections, what is broken."""
    lines = [_intent_line(p)]
    lines += [f"place {text}: only locates the place ({why})" for text, why in p.place_hints]
    lines += [f"typed {c.typed} as {c.meant}: {c.confidence:.2f} {c.level}, {_LEVEL_ACTION[c.level]}"
              for c in p.corrections]
    if p.emergency:
        lines.append(f"emergency {p.emergency}: said by 「{p.emergency_words}」 (urgent, duty phone first)")
    if p.intent == "repair":
        lines.append(f"broken: {p.item or p.group or '?'} ({p.group or 'no group'}), fault {p.fault or '?'}, "
                     f"confidence {p.confidence:.2f}")
    return lines


def _intent_line(p: Parse) -> str:
    cues = ", ".join(f"{c.intent}.{c.group}「{c.found}」{c.weight:+g}" for c in p.intent_cues) or "no cue"
    scores = " ".join(f"{i}={s:g}" for i, s in sorted(p.intent_scores, key=lambda x: -x[1])) or "nothing scored"
    return f"intent {p.intent}: {cues}; scores {scores}"
