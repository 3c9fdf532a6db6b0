"""Tokens of a sentence as the models see them (pure Python, no TensorFlow).

Labeled data is tagged per *word* (`Example.tokens`, the whitespace-separated
words of the normalized text). A model reads *rows*: the pQRNN projection op
cuts words further (separators, CJK / Thai / kana characters with
`split_unsegmented_scripts`), keeps the first `max_tokens` text tokens and adds
BOS / EOS rows (custom_ops/README.md, section 3). `Tokenization` recomputes the
op's token boundaries (tested against the op in tests/test_tokens.py) and maps
word tags to row tags for training and row predictions back to words.
"""
from __future__ import annotations

import collections
import dataclasses
import unicodedata
from typing import Any, Iterable, Sequence

#: The default per-sentence token limit of the pQRNN projection (its
#: `max_tokens`): training, export and inference keep the first 512 tokens of a
#: sentence, so memory is bounded by batch size x 512 whatever the input. Words
#: past the limit get no row and are tagged "O".
DEFAULT_MAX_TOKENS = 512

# Unicode White_Space: the code points the op splits on (Python's str.split()
# also splits on U+001C..U+001F).
WHITESPACE = frozenset(
    [chr(c) for c in range(0x09, 0x0D + 1)]
    + ["\u0020", "\u0085", "\u00a0", "\u1680"]
    + [chr(c) for c in range(0x2000, 0x200A + 1)]
    + ["\u2028", "\u2029", "\u202f", "\u205f", "\u3000"])

# Code points that form a token on their own with split_unsegmented_scripts.
UNSEGMENTED_RANGES = (
    (0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x3001, 0x303F),
    (0x3040, 0x30FF), (0x31F0, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF), (0xFF66, 0xFF9F), (0x20000, 0x2FA1F), (0x30000, 0x3134F))

OUTSIDE = "O"
#: The word index of a BOS / EOS row.
NO_WORD = -1


def _lower(char: str) -> str:
  """The op's simple (one code point) lowercase mapping."""
  if char == "\u0130":
    return "i"
  lowered = char.lower()
  return lowered if len(lowered) == 1 else char


def _unsegmented(char: str) -> bool:
  c = ord(char)
  return any(lo <= c <= hi for lo, hi in UNSEGMENTED_RANGES)


#: A script counts in `mixed_or_unsegmented_scripts` from this share of the letters.
SCRIPT_SHARE = 0.01


def mixed_or_unsegmented_scripts(texts: Iterable[str]) -> bool:
  """Whether `texts` are written in more than one script, or in one written
  without spaces (a code point of `UNSEGMENTED_RANGES`): the text that a
  projection with `split_unsegmented_scripts` and short n-grams serves better.

  Letters are counted by script, the first word of their Unicode name (LATIN,
  CYRILLIC, HANGUL, ...); a script counts from `SCRIPT_SHARE` of the letters,
  so a stray foreign word does not make English text "mixed".
  """
  letters = collections.Counter()
  for text in texts:
    if text.isascii():  # The common case, without a name lookup per letter.
      letters["LATIN"] += sum(char.isalpha() for char in text)
      continue
    for char in text:
      if char.isalpha():
        script = ("UNSEGMENTED" if _unsegmented(char)
                  else unicodedata.name(char, "UNNAMED").split(" ", 1)[0])
        letters[script] += 1
  least = SCRIPT_SHARE * sum(letters.values())
  scripts = {script for script, count in letters.items() if count >= least}
  return len(scripts) > 1 or "UNSEGMENTED" in scripts


@dataclasses.dataclass(frozen=True)
class Tokenization:
  """How a model cuts a sentence into rows (the projection's attributes).

  The defaults are the `Projection` layer's, which takes them from here.
  `Tokenization.words()` is the baselines' (one row per whitespace word).
  """
  max_tokens: int = DEFAULT_MAX_TOKENS
  lowercase: bool = True
  separators: str = ""
  split_unsegmented_scripts: bool = True
  add_bos: bool = False
  add_eos: bool = False

  @classmethod
  def words(cls) -> Tokenization:
    """One row per whitespace word, no limit."""
    return cls(max_tokens=0, split_unsegmented_scripts=False)

  @classmethod
  def from_projection(cls, projection: dict[str, Any]) -> Tokenization:
    """The tokenization of a `Projection` layer's keyword arguments (other
    keys, e.g. `feature_size`, do not move token boundaries)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in projection.items() if k in names})

  def spans(self, text: str) -> list[tuple[int, int]]:
    """`(start, end)` code point offsets in `text` of the kept text tokens
    (BOS / EOS have none); `text[start:end]` is the token before lowercasing."""
    separators = set(self.separators)
    spans, start = [], None
    for i, char in enumerate(text):
      key = _lower(char) if self.lowercase else char
      if char in WHITESPACE or key in separators:
        if start is not None:
          spans.append((start, i))
        start = None
      elif self.split_unsegmented_scripts and _unsegmented(char):
        if start is not None:
          spans.append((start, i))
        spans.append((i, i + 1))
        start = None
      elif start is None:
        start = i
    if start is not None:
      spans.append((start, len(text)))
    return spans[:self.max_tokens] if self.max_tokens > 0 else spans

  def row_words(self, text: str) -> list[int]:
    """For each row the model reads for `text`, the index of the word
    (`text.split()`) it comes from; `NO_WORD` for BOS / EOS."""
    word_of_char, word = [], -1
    in_word = False
    for char in text:
      if char.isspace() or char in WHITESPACE:
        in_word = False
        word_of_char.append(NO_WORD)
      else:
        if not in_word:
          word += 1
          in_word = True
        word_of_char.append(word)
    rows = [word_of_char[start] for start, _ in self.spans(text)]
    return ([NO_WORD] if self.add_bos else []) + rows + ([NO_WORD] if self.add_eos else [])

  def row_tags(self, text: str, word_tags: Sequence[str]) -> list[str]:
    """Training targets: one tag per row. A word's first row gets its tag,
    its further rows the inside tag of the same type ("B-city" -> "I-city"),
    BOS / EOS rows "O"."""
    tags, previous = [], NO_WORD
    for word in self.row_words(text):
      if word == NO_WORD:
        tags.append(OUTSIDE)
      elif word != previous:
        tags.append(word_tags[word])
      else:
        tag = word_tags[word]
        tags.append(OUTSIDE if tag == OUTSIDE else "I-" + tag.split("-", 1)[-1])
      previous = word
    return tags

  def word_tags(self, text: str, row_tags: Sequence[str]) -> list[str]:
    """Predictions per word: the tag of each word's first row; words the
    model read no row of (past `max_tokens`, or only separators) are "O"."""
    num_words = len(text.split())
    tags = [None] * num_words
    for word, tag in zip(self.row_words(text), row_tags):
      if word != NO_WORD and tags[word] is None:
        tags[word] = tag
    return [OUTSIDE if t is None else t for t in tags]
