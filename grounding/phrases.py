"""Sound-event phrases of a caption: the queries the TAG model grounds.

AudioCaps captions chain sound events into one sentence ("A man speaks while a dog barks in the
distance"); the TAG model was trained on one phrase per event. The rule, applied to the lower-cased
caption with its final full stop removed:

1. split at commas and semicolons;
2. split at a clause connective: ``while``, ``as``, ``as well as``, ``whilst``, ``then``, ``and then``,
   ``followed by``, ``before``, ``after``, ``during``, ``meanwhile``, ``when``, ``until``, ``along with``,
   ``together with``, ``accompanied by``, ``interrupted by``;
3. split at ``and`` / ``with`` only when a new sound source follows: ``and`` followed by a determiner,
   quantifier or pronoun (``a``, ``an``, ``the``, ``some``, ``another``, ``someone``, ``two`` ...) or by one
   of the bare nouns that often start an AudioCaps clause (``people``, ``footsteps``, ``wind``, ``birds`` ...,
   :data:`CLAUSE_NOUNS`);
   ``with`` followed within three words by a word ending in ``-ing`` ("with a dog barking") -- so
   "birds chirp and sing" and "someone chops wood with an axe" stay whole;
4. strip leading ``and``/``is``/``are`` and connectives (", followed by a baby crying"); drop empty
   parts and parts without a letter; keep the first occurrence of repeated phrases.

A caption with no split point is its own single phrase. Known limits: an ``and`` joining two
bare nouns' clauses is split only for the nouns listed ("wind blows and leaves rustle" is; "music
plays and crowds roar" is not); "as" in "such as" is kept.
"""

from __future__ import annotations

import re

_CONNECTIVES = (
    "and then",
    "as well as",
    "followed by",
    "accompanied by",
    "interrupted by",
    "along with",
    "together with",
    "meanwhile",
    "whilst",
    "while",
    "then",
    "before",
    "after",
    "during",
    "when",
    "until",
)
_DETERMINERS = (
    "a|an|the|some|another|other|others|someone|somebody|something|several|many|multiple"
    "|two|three|four|his|her|their|its|one|he|she|they|it"
)
#: Bare plural or mass nouns that start a new sound source after "and" ("... and footsteps crunch").
CLAUSE_NOUNS = (
    "people|person|men|women|children|kids|babies|footsteps|birds|dogs|cats|insects|crickets|frogs|ducks|geese"
    "|pigeons|chickens|horses|cows|sheep|goats|wind|rain|water|waves|thunder|leaves|music|bells|engines|sirens"
    "|vehicles|cars|traffic|applause|laughter|gunshots|gunfire|speech|metal|glass|fire|steam|paper|wood"
)
_SOURCE_STARTS = _DETERMINERS + "|" + CLAUSE_NOUNS
_SPLIT = re.compile(
    r"\s*[,;]\s*"
    r"|\s+(?:" + "|".join(c.replace(" ", r"\s+") for c in _CONNECTIVES) + r")\s+"
    r"|(?<!such)\s+as\s+(?!well\b)"
    r"|\s+and\s+(?=(?:" + _SOURCE_STARTS + r")\b)"
    r"|\s+with\s+(?=(?:\S+\s+){0,2}\w+ing\b)"
)
_LEADING_FILLER = re.compile(r"^(?:(?:and|is|are|" + "|".join(c.replace(" ", r"\s+") for c in _CONNECTIVES) + r")\s+)+")


def extract_phrases(caption: str) -> list[str]:
    """The caption's sound-event phrases, in caption order (see the module docstring for the rule)."""
    text = " ".join(caption.lower().split()).rstrip(" .!")
    phrases: list[str] = []
    for part in _SPLIT.split(text):
        phrase = _LEADING_FILLER.sub("", part.strip(" .,;")).strip()
        if re.search(r"[a-z]", phrase) and phrase not in phrases:
            phrases.append(phrase)
    return phrases
