"""Evaluation metrics for intent classification and slot tagging (pure Python, no TensorFlow).

All scores are fractions in [0, 1] (not percentages). Conventions for empty
denominators follow ``seqeval``/conlleval: a ratio with a zero denominator is 0.0
(precision with no predicted chunks, recall with no gold chunks, accuracy over
zero examples), and F1 is 0.0 when precision + recall is 0. So all-"O" gold and
predictions score F1 = 0.0, not 1.0.

Slot chunks are extracted exactly like ``seqeval``'s default (conlleval) mode:
an ``I-X`` after ``O`` or after a chunk of another type starts a new chunk,
``B-X B-X`` is two chunks, and chunks never cross sentence boundaries. Tags must
be ``"O"`` or ``P-TYPE`` with ``P`` in B/I/E/S (IOBES is accepted like seqeval);
anything else raises ValueError rather than being silently misread.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

Chunk = tuple[str, int, int]  # (type, first token index, last token index), inclusive


def _split_tag(tag: str) -> tuple[str, str]:
    """``"B-city"`` -> ``("B", "city")``; ``"O"`` -> ``("O", "")``. Raises ValueError if malformed."""
    if tag == "O":
        return "O", ""
    if not isinstance(tag, str) or len(tag) < 3 or tag[0] not in "BIES" or tag[1] != "-":
        raise ValueError(f"invalid slot tag {tag!r}: expected 'O' or B-/I-/E-/S-<type>")
    return tag[0], tag[2:]


def _end_of_chunk(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    """Whether a chunk ended just before the current token (conlleval ``endOfChunk``)."""
    if prev_prefix in ("E", "S"):
        return True
    if prev_prefix in ("B", "I") and prefix in ("B", "S", "O"):
        return True
    return prev_prefix != "O" and prev_type != type_


def _start_of_chunk(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    """Whether a chunk starts at the current token (conlleval ``startOfChunk``)."""
    if prefix in ("B", "S"):
        return True
    if prev_prefix in ("E", "S", "O") and prefix in ("E", "I"):
        return True
    return prefix != "O" and prev_type != type_


def get_chunks(tags: Sequence[str]) -> list[Chunk]:
    """Chunks ``(type, start, end)`` (end inclusive) of one tag sequence, conlleval-style."""
    chunks: list[Chunk] = []
    prev_prefix, prev_type, begin = "O", "", 0
    for i, tag in enumerate([*tags, "O"]):  # the trailing "O" closes an open chunk
        prefix, type_ = _split_tag(tag)
        if _end_of_chunk(prev_prefix, prefix, prev_type, type_):
            chunks.append((prev_type, begin, i - 1))
        if _start_of_chunk(prev_prefix, prefix, prev_type, type_):
            begin = i
        prev_prefix, prev_type = prefix, type_
    return chunks


def _check_lengths(name: str, gold: Sequence, pred: Sequence) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"{name}: {len(gold)} gold vs {len(pred)} predicted")


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


@dataclass(frozen=True)
class SpanScores:
    """Span-level micro precision/recall/F1 (fractions) with the counts behind them."""

    precision: float
    recall: float
    f1: float
    num_gold: int
    num_pred: int
    num_correct: int


def intent_accuracy(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Fraction of utterances whose predicted intent equals the gold one (0.0 if empty)."""
    _check_lengths("intents", gold, pred)
    return _ratio(sum(g == p for g, p in zip(gold, pred)), len(gold))


def slot_f1(gold_tag_seqs: Sequence[Sequence[str]],
            pred_tag_seqs: Sequence[Sequence[str]]) -> SpanScores:
    """CoNLL span-level micro P/R/F1 over all sentences, identical to seqeval's default mode.

    A predicted chunk is correct iff a gold chunk in the same sentence has the same
    type, start and end. Sentence pairs must have equal lengths.
    """
    _check_lengths("tag sequences", gold_tag_seqs, pred_tag_seqs)
    num_gold = num_pred = num_correct = 0
    for i, (g, p) in enumerate(zip(gold_tag_seqs, pred_tag_seqs)):
        if isinstance(g, str) or isinstance(p, str):
            raise TypeError(f"sentence {i}: tag sequences must be sequences of tags, not str")
        _check_lengths(f"sentence {i} tags", g, p)
        gold_chunks, pred_chunks = set(get_chunks(g)), set(get_chunks(p))
        num_gold += len(gold_chunks)
        num_pred += len(pred_chunks)
        num_correct += len(gold_chunks & pred_chunks)
    precision, recall = _ratio(num_correct, num_pred), _ratio(num_correct, num_gold)
    f1 = _ratio(2 * precision * recall, precision + recall) if precision + recall else 0.0
    return SpanScores(precision, recall, f1, num_gold, num_pred, num_correct)


def _exact_match_count(gold_intents: Sequence[str], pred_intents: Sequence[str],
                       gold_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> int:
    _check_lengths("intents", gold_intents, pred_intents)
    _check_lengths("tag sequences", gold_tags, pred_tags)
    _check_lengths("intents vs tag sequences", gold_intents, gold_tags)
    correct = 0
    for i, (gi, pi, gt, pt) in enumerate(zip(gold_intents, pred_intents, gold_tags, pred_tags)):
        _check_lengths(f"sentence {i} tags", gt, pt)
        correct += gi == pi and tuple(gt) == tuple(pt)
    return correct


def exact_match(gold_intents: Sequence[str], pred_intents: Sequence[str],
                gold_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> float:
    """Fraction of utterances with the intent right AND every tag right ("sentence accuracy")."""
    return _ratio(_exact_match_count(gold_intents, pred_intents, gold_tags, pred_tags),
                  len(gold_intents))


def evaluate(gold_intents: Sequence[str] | None = None,
             pred_intents: Sequence[str] | None = None,
             gold_tags: Sequence[Sequence[str]] | None = None,
             pred_tags: Sequence[Sequence[str]] | None = None) -> dict[str, float | int]:
    """All metrics that the given inputs allow, as a flat dict of fractions and counts.

    Keys: ``num_examples``; with intents ``intent_accuracy``, ``intent_correct``;
    with tags ``slot_precision``, ``slot_recall``, ``slot_f1``, ``slot_num_gold``,
    ``slot_num_pred``, ``slot_num_correct``; with both ``exact_match``,
    ``exact_match_correct``. Gold and predicted inputs must be given in pairs.
    """
    if (gold_intents is None) != (pred_intents is None):
        raise ValueError("give both gold_intents and pred_intents, or neither")
    if (gold_tags is None) != (pred_tags is None):
        raise ValueError("give both gold_tags and pred_tags, or neither")
    if gold_intents is None and gold_tags is None:
        raise ValueError("nothing to evaluate: give intents and/or tags")
    out: dict[str, float | int] = {}
    if gold_intents is not None:
        acc = intent_accuracy(gold_intents, pred_intents)
        out["num_examples"] = len(gold_intents)
        out["intent_accuracy"] = acc
        out["intent_correct"] = sum(g == p for g, p in zip(gold_intents, pred_intents))
    if gold_tags is not None:
        scores = slot_f1(gold_tags, pred_tags)
        out["num_examples"] = len(gold_tags)
        out.update({f"slot_{k}": v for k, v in asdict(scores).items()})
    if gold_intents is not None and gold_tags is not None:
        correct = _exact_match_count(gold_intents, pred_intents, gold_tags, pred_tags)
        out["exact_match"] = _ratio(correct, len(gold_intents))
        out["exact_match_correct"] = correct
    return out


def score_examples(examples: Sequence, pred_intents: Sequence[str] | None,
                   pred_tags: Sequence[Sequence[str]] | None) -> dict[str, float | int]:
    """`evaluate` against what `examples` (`pqrnn_tf.data.Example`s) are labeled with.

    The one scorer of predictions, whoever made them (the Keras student, an
    exported model, the teacher): intents are scored if every example has one,
    tags if `pred_tags` is given and every example has tags; `{}` if neither.
    """
    has_intents = pred_intents is not None and all(e.intent is not None for e in examples)
    has_tags = pred_tags is not None and all(e.tags is not None for e in examples)
    if not examples or not (has_intents or has_tags):
        return {}
    return evaluate(
        gold_intents=[e.intent for e in examples] if has_intents else None,
        pred_intents=list(pred_intents) if has_intents else None,
        gold_tags=[e.tags for e in examples] if has_tags else None,
        pred_tags=list(pred_tags) if has_tags else None)


#: The three numbers reported for joint intent + slot models.
HEADLINE_METRICS = ("intent_accuracy", "slot_f1", "exact_match")
#: Where a training run writes its scores in its directory (pqrnn-train and
#: pqrnn-teacher train); here, not in pqrnn_tf.run_dir, because the teacher
#: and the benchmarks read it without TensorFlow.
METRICS_FILE = "metrics.json"


def dev_score(metrics: dict) -> float:
    """What best-epoch selection maximizes: the mean of the headline metrics present."""
    values = [metrics[k] for k in HEADLINE_METRICS if k in metrics]
    return sum(values) / len(values) if values else 0.0
