"""Where the projection op's tokens are in the original string."""
from __future__ import annotations

# Unicode White_Space, the code points the projection op splits on
# (custom_ops/README.md, section 3). Python's `str.split()` differs: it also
# splits on U+001C..U+001F.
WHITESPACE = frozenset(
    [chr(c) for c in range(0x09, 0x0D + 1)]
    + ["\u0020", "\u0085", "\u00a0", "\u1680"]
    + [chr(c) for c in range(0x2000, 0x200A + 1)]
    + ["\u2028", "\u2029", "\u202f", "\u205f", "\u3000"])


def token_spans(text: str, max_tokens: int = 0) -> list[tuple[int, int]]:
  """Character offsets of the whitespace tokens of `text`, as the op splits it.

  This is the projection op's tokenization with its default `separators` ("")
  and for text outside the scripts that `split_unsegmented_scripts` cuts into
  characters (custom_ops/README.md, section 3): tokens are the maximal runs of
  non-whitespace code points. Lowercasing and `max_repeated_chars` change a
  token's characters, not where it is, so they do not matter here. BOS/EOS
  rows have no characters and are not returned.

  Args:
    text: the original string.
    max_tokens: keep only the first `max_tokens` tokens (0: all), like the
      op's attribute of that name.

  Returns:
    One `(start, end)` per token: `text[start:end]` is the token, `end`
    exclusive, offsets in code points (Python `str` indices).
  """
  spans = []
  start = None
  for i, char in enumerate(text):
    if char in WHITESPACE:
      if start is not None:
        spans.append((start, i))
        start = None
    elif start is None:
      start = i
  if start is not None:
    spans.append((start, len(text)))
  return spans[:max_tokens] if max_tokens > 0 else spans
