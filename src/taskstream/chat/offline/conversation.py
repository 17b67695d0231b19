"""The conversation around the requests: yes/no answers, greetings, polite padding.

A `Message` is the text, its tokens and what the planner may know (clock, zone,
listing, tasks); `bounds` skips "please", "can you", "hey" and a closing "thanks" or "?".
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Final

from taskstream.chat.offline.dates import Clock, word, words_at
from taskstream.chat.offline.lexer import Kind, Token
from taskstream.chat.plan import PlanContext

HELP: Final = (
    "I can add, list, search, change, complete, reopen and delete tasks, and set reminders. "
    'Try "call mom tomorrow at 6pm", "what\'s overdue?" or "done with the milk one".'
)


_FILLERS: Final = {
    "please",
    "hey",
    "ok",
    "okay",
    "so",
    "just",
    "now",
    "also",
    "and",
    "then",
    "oh",
    "um",
    "uh",
    "well",
    "alright",
    "kindly",
    "actually",
    "oops",
}


_POLITE: Final = (
    ("can", "you"),
    ("could", "you"),
    ("would", "you"),
    ("will", "you"),
    ("can", "u"),
    ("i'd", "like", "you", "to"),
    ("i", "want", "you", "to"),
    ("go", "ahead", "and"),
    ("help", "me"),
)


_YES: Final = {
    "yes",
    "y",
    "yeah",
    "yea",
    "yep",
    "yup",
    "sure",
    "ok",
    "okay",
    "confirm",
    "confirmed",
    "correct",
    "affirmative",
    "absolutely",
    "definitely",
    "proceed",
    "k",
}


_YES_PHRASES: Final = (("go", "ahead"), ("do", "it"), ("of", "course"), ("sounds", "good"))


_NO: Final = {
    "no",
    "n",
    "nope",
    "nah",
    "cancel",
    "stop",
    "abort",
    "negative",
    "don't",
    "dont",
    "nevermind",
}


_NO_PHRASES: Final = (("never", "mind"), ("not", "now"), ("keep", "it"), ("leave", "it"))


_GREETINGS: Final = {"hi", "hello", "hey", "howdy", "yo", "hiya", "greetings"}


_THANKS: Final = {"thanks", "thank", "cheers", "great", "cool", "nice", "awesome", "perfect"}


@dataclass(frozen=True, slots=True)
class Message:
    text: str
    tokens: list[Token]
    clock: Clock
    context: PlanContext

    def w(self, i: int) -> str:
        return word(self.tokens, i)

    def at(self, i: int, *phrase: str) -> bool:
        return words_at(self.tokens, i, *phrase)


def confirmation(m: Message) -> bool | None:
    words = [t.norm for t in m.tokens if t.kind is Kind.WORD]
    if not words:
        return None
    pairs = tuple(itertools.pairwise(words))
    if words[0] in _NO or any(p in pairs for p in _NO_PHRASES):
        return False
    if words[0] in _YES and words[1:2] == ["not"]:
        return False  # "absolutely not"
    if words[0] in _YES or any(p in pairs for p in _YES_PHRASES):
        return True
    if words[0] == "please" and len(words) <= 2:
        return True
    return None


def small_talk(m: Message) -> str | None:
    words = [t.norm for t in m.tokens if t.kind is Kind.WORD]
    if not words:
        return None
    if all(w in _GREETINGS | {"there", "assistant", "bot"} for w in words):
        return "Hi! " + HELP
    if words[0] in _THANKS and len(words) <= 4:
        return "You're welcome!"
    if words in (["help"], ["what", "can", "you", "do"], ["how", "does", "this", "work"]):
        return HELP
    return None


def bounds(m: Message) -> tuple[int, int]:
    """Skip polite openers and closers: "please", "can you", trailing "thanks" and "?"."""
    tokens = m.tokens
    lo, hi = 0, len(tokens)
    moved = True
    while moved and lo < hi:
        moved = False
        if m.w(lo) in _FILLERS or m.w(lo) in _GREETINGS or tokens[lo].text in {",", "!", "."}:
            lo, moved = lo + 1, True
            continue
        for phrase in _POLITE:
            if m.at(lo, *phrase):
                lo, moved = lo + len(phrase), True
                break
    while hi > lo and (
        (tokens[hi - 1].kind is Kind.PUNCT and tokens[hi - 1].text in {"?", "!", ".", ","})
        or (
            tokens[hi - 1].norm in {"please", "thanks", "thank", "you", "pls"}
            and tokens[hi - 1].kind is Kind.WORD
            and hi - 1 > lo
        )
    ):
        hi -= 1
    return lo, hi
