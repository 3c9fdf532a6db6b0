"""Model outputs -> `Prediction`s: intent, top-k, tagged tokens, slot spans."""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from pqrnn_tf import metrics
from pqrnn_tf.data.tokens import Tokenization


@dataclasses.dataclass(frozen=True)
class Token:
  """One token of the model: where it is in the text, and its tag.

  Attributes:
    text: `Prediction.text[start:end]`.
    start: offset of its first character in the original text.
    end: offset just past its last character (exclusive).
    tag: the most probable slot tag (e.g. "B-city"), None without a slot head.
    probability: that tag's probability, None without a slot head.
  """
  text: str
  start: int
  end: int
  tag: str | None = None
  probability: float | None = None


@dataclasses.dataclass(frozen=True)
class Slot:
  """A slot value: a BIO chunk of tokens, as a span of the original text.

  Attributes:
    type: the slot type (the tag without its "B-"/"I-" prefix).
    start: offset of the span's first character in the original text.
    end: offset just past its last character (exclusive).
    text: `Prediction.text[start:end]` (whatever separates its tokens included).
    score: the mean probability of the chunk's tags.
  """
  type: str
  start: int
  end: int
  text: str
  score: float


@dataclasses.dataclass(frozen=True)
class Prediction:
  """What the model says about one text.

  Attributes:
    text: the input, unchanged.
    intent: the most probable intent (for a text without tokens, the model's
      prior).
    intent_probability: its probability.
    top_k: the most probable intents with their probabilities, best first.
    tokens: the model's tokens, in order.
    slots: the slot spans, in order.
  """
  text: str
  intent: str
  intent_probability: float
  top_k: tuple[tuple[str, float], ...] = ()
  tokens: tuple[Token, ...] = ()
  slots: tuple[Slot, ...] = ()

  def to_dict(self) -> dict:
    """A JSON-serializable dict (top-k pairs as {"label", "probability"})."""
    out = dataclasses.asdict(self)
    out["top_k"] = [{"label": label, "probability": p} for label, p in self.top_k]
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
  """Probabilities of logits `[..., classes]` (what exported models output)."""
  shifted = np.exp(logits - logits.max(-1, keepdims=True))
  return shifted / shifted.sum(-1, keepdims=True)


def to_predictions(texts: Sequence[str], intent_probs: np.ndarray,
                   slot_probs: np.ndarray | None,
                   token_offsets: Sequence[Sequence[tuple[int, int]]],
                   intent_labels: Sequence[str], slot_labels: Sequence[str] | None,
                   top_k: int = 3) -> list[Prediction]:
  """Turns a batch of model outputs into `Prediction`s.

  Args:
    texts: the original strings, `[batch]`.
    intent_probs: float `[batch, len(intent_labels)]`.
    slot_probs: float `[batch, rows, len(slot_labels)]`, rows padded to the
      longest text (only the first `len(token_offsets[b])` rows of text `b`
      are read), or None for a model without a slot head.
    token_offsets: per text, the `(start, end)` offsets of the tokens that the
      rows of `slot_probs` tag (`token_spans`); also returned as `tokens` when
      `slot_probs` is None.
    intent_labels: intent label of each `intent_probs` column.
    slot_labels: BIO tag of each `slot_probs` column (None: no slot head).
    top_k: how many intents `Prediction.top_k` lists.

  Returns:
    One `Prediction` per text. Slots are the BIO chunks of the predicted tags,
    read by `pqrnn_tf.metrics.get_chunks` (conlleval rules: an "I-x" after "O"
    or after another type starts a chunk).
  """
  intent_probs = np.asarray(intent_probs, dtype=np.float64)
  predictions = []
  for b, (text, offsets) in enumerate(zip(texts, token_offsets)):
    probs = intent_probs[b]
    # Stable sort: equal probabilities keep the label order.
    order = np.argsort(-probs, kind="stable")
    best = int(order[0])
    ranked = tuple((intent_labels[int(i)], float(probs[i])) for i in order[:max(top_k, 0)])
    tokens = [Token(text[s:e], s, e) for s, e in offsets]
    slots = []
    if slot_probs is not None:
      rows = np.asarray(slot_probs[b][:len(offsets)], dtype=np.float64)
      tag_ids = rows.argmax(-1)
      tag_probs = rows[np.arange(len(offsets)), tag_ids]
      tags = [slot_labels[int(i)] for i in tag_ids]
      tokens = [dataclasses.replace(t, tag=tag, probability=float(p))
                for t, tag, p in zip(tokens, tags, tag_probs)]
      for type_, first, last in metrics.get_chunks(tags):
        start, end = offsets[first][0], offsets[last][1]
        slots.append(Slot(type_, start, end, text[start:end],
                          float(tag_probs[first:last + 1].mean())))
    predictions.append(Prediction(
        text=text, intent=intent_labels[best], intent_probability=float(probs[best]),
        top_k=ranked, tokens=tuple(tokens), slots=tuple(slots)))
  return predictions


def word_tags(prediction: Prediction, tokenization: Tokenization) -> list[str]:
  """The tag of each word (`prediction.text.split()`) of a `Prediction`: the
  tag of the word's first token; "O" for words the model read no token of
  (the labeled data's unit, for scoring against `Example.tags`)."""
  plain = dataclasses.replace(tokenization, add_bos=False, add_eos=False)
  return plain.word_tags(prediction.text, [t.tag for t in prediction.tokens])
