"""Tests for pqrnn_tf.metrics: hand-worked conlleval cases, a reference chunker, and seqeval."""
from __future__ import annotations

import warnings
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pqrnn_tf.metrics import (
    SpanScores,
    evaluate,
    exact_match,
    get_chunks,
    intent_accuracy,
    slot_f1,
)

# ----------------------------------------------------------------------------- chunking


@pytest.mark.parametrize(
    "tags, chunks",
    [
        ([], []),
        (["O", "O"], []),
        (["B-a"], [("a", 0, 0)]),
        (["B-a", "I-a", "I-a", "O"], [("a", 0, 2)]),
        # I- after O starts a chunk (conlleval), it is not dropped.
        (["O", "I-a", "I-a"], [("a", 1, 2)]),
        (["I-a"], [("a", 0, 0)]),
        # Type change mid-span: I-b after B-a closes a and opens b.
        (["B-a", "I-a", "I-b", "I-b"], [("a", 0, 1), ("b", 2, 3)]),
        (["B-a", "I-b"], [("a", 0, 0), ("b", 1, 1)]),
        # B-X B-X is two chunks.
        (["B-a", "B-a"], [("a", 0, 0), ("a", 1, 1)]),
        (["B-a", "I-a", "B-a", "I-a"], [("a", 0, 1), ("a", 2, 3)]),
        # Chunk at the very end is closed.
        (["O", "B-a", "I-a"], [("a", 1, 2)]),
        # Types may contain '.', '_' and '-' (only the first '-' separates).
        (["B-toloc.city_name", "I-toloc.city_name"], [("toloc.city_name", 0, 1)]),
        (["B-x-y", "I-x-y"], [("x-y", 0, 1)]),
        # IOBES like seqeval: E closes, S is a singleton, I after E starts anew.
        (["B-a", "E-a", "I-a", "S-a", "E-a"], [("a", 0, 1), ("a", 2, 2), ("a", 3, 3), ("a", 4, 4)]),
    ],
)
def test_get_chunks_hand_worked(tags, chunks):
    assert get_chunks(tags) == chunks


@pytest.mark.parametrize("bad", ["B", "I-", "X-a", "b-a", "B_a", "", "o", "O-a"])
def test_invalid_tags_raise(bad):
    with pytest.raises(ValueError, match="invalid slot tag"):
        get_chunks(["O", bad])


# ----------------------------------------------------------------------------- scores


def test_slot_f1_hand_worked():
    gold = [["B-a", "I-a", "O", "B-b"], ["O", "B-c", "I-c"]]
    pred = [["B-a", "I-a", "O", "B-c"], ["O", "I-c", "I-c"]]
    # gold chunks: a(0,1) b(3,3) | c(1,2); pred: a(0,1) c(3,3) | c(1,2)  -> 2 correct of 3 / 3
    s = slot_f1(gold, pred)
    assert (s.num_gold, s.num_pred, s.num_correct) == (3, 3, 2)
    assert s.precision == pytest.approx(2 / 3)
    assert s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(2 / 3)


def test_slot_f1_partial_span_is_wrong():
    s = slot_f1([["B-a", "I-a", "I-a"]], [["B-a", "I-a", "O"]])
    assert (s.num_gold, s.num_pred, s.num_correct) == (1, 1, 0)
    assert s.f1 == 0.0


def test_slot_f1_precision_recall_differ():
    s = slot_f1([["B-a", "O", "B-b", "O"]], [["B-a", "O", "O", "O"]])
    assert (s.precision, s.recall) == (1.0, 0.5)
    assert s.f1 == pytest.approx(2 / 3)


def test_chunks_do_not_cross_sentences():
    # If sentences were concatenated without a separator, I-a would continue the chunk.
    s = slot_f1([["B-a"], ["I-a"]], [["B-a"], ["I-a"]])
    assert (s.num_gold, s.num_correct, s.f1) == (2, 2, 1.0)


def test_empty_and_all_o_conventions():
    # No chunks anywhere: precision, recall and F1 are defined as 0.0 (seqeval's zero_division).
    assert slot_f1([], []) == SpanScores(0.0, 0.0, 0.0, 0, 0, 0)
    assert slot_f1([[], []], [[], []]) == SpanScores(0.0, 0.0, 0.0, 0, 0, 0)
    assert slot_f1([["O", "O"]], [["O", "O"]]) == SpanScores(0.0, 0.0, 0.0, 0, 0, 0)
    # Predicting nothing against real chunks: precision 0 (no predictions), recall 0.
    assert slot_f1([["B-a"]], [["O"]]) == SpanScores(0.0, 0.0, 0.0, 1, 0, 0)
    # Spurious predictions only.
    assert slot_f1([["O"]], [["B-a"]]) == SpanScores(0.0, 0.0, 0.0, 0, 1, 0)


def test_slot_f1_length_mismatch_raises():
    with pytest.raises(ValueError, match="tag sequences"):
        slot_f1([["O"]], [])
    with pytest.raises(ValueError, match="sentence 1"):
        slot_f1([["O"], ["O", "O"]], [["O"], ["O"]])
    with pytest.raises(TypeError):
        slot_f1(["B-a"], ["B-a"])


def test_intent_accuracy():
    assert intent_accuracy(["a", "b", "c", "a"], ["a", "b", "x", "b"]) == 0.5
    assert intent_accuracy([], []) == 0.0
    with pytest.raises(ValueError):
        intent_accuracy(["a"], ["a", "b"])


def test_exact_match():
    gi, pi = ["a", "b", "c"], ["a", "b", "x"]
    gt = [["B-s", "O"], ["O"], ["O"]]
    pt = [["B-s", "O"], ["B-s"], ["O"]]
    # 0: both right; 1: tag wrong; 2: intent wrong.
    assert exact_match(gi, pi, gt, pt) == pytest.approx(1 / 3)
    assert exact_match([], [], [], []) == 0.0
    # Tuples and lists compare equal.
    assert exact_match(["a"], ["a"], [("O", "B-s")], [["O", "B-s"]]) == 1.0
    with pytest.raises(ValueError):
        exact_match(["a"], ["a"], [["O"]], [["O", "O"]])
    with pytest.raises(ValueError):
        exact_match(["a", "b"], ["a", "b"], [["O"]], [["O"]])


def test_evaluate_keys_and_counts():
    gi, pi = ["a", "b"], ["a", "a"]
    gt, pt = [["B-s", "I-s"], ["B-t"]], [["B-s", "I-s"], ["B-t"]]
    out = evaluate(gi, pi, gt, pt)
    assert out == {
        "num_examples": 2,
        "intent_accuracy": 0.5,
        "intent_correct": 1,
        "slot_precision": 1.0,
        "slot_recall": 1.0,
        "slot_f1": 1.0,
        "slot_num_gold": 2,
        "slot_num_pred": 2,
        "slot_num_correct": 2,
        "exact_match": 0.5,
        "exact_match_correct": 1,
    }
    assert set(evaluate(gi, pi)) == {"num_examples", "intent_accuracy", "intent_correct"}
    assert "exact_match" not in evaluate(gold_tags=gt, pred_tags=pt)
    with pytest.raises(ValueError):
        evaluate(gi, None)
    with pytest.raises(ValueError):
        evaluate()


# ----------------------------------------------------------------------------- properties

BIO_TAGS = ["O", "B-a", "I-a", "B-b", "I-b", "B-c.d", "I-c.d"]


def reference_bio_chunks(tags):
    """Independent BIO chunker: a chunk continues only through I- of the same type."""
    chunks, cur_type, cur_start = [], None, 0
    for i, tag in enumerate(tags):
        if tag == "O":
            if cur_type is not None:
                chunks.append((cur_type, cur_start, i - 1))
            cur_type = None
            continue
        prefix, typ = tag.split("-", 1)
        if prefix == "I" and cur_type == typ:
            continue
        if cur_type is not None:
            chunks.append((cur_type, cur_start, i - 1))
        cur_type, cur_start = typ, i
    if cur_type is not None:
        chunks.append((cur_type, cur_start, len(tags) - 1))
    return chunks


def reference_scores(gold, pred):
    g = Counter((k, *c) for k, s in enumerate(gold) for c in reference_bio_chunks(s))
    p = Counter((k, *c) for k, s in enumerate(pred) for c in reference_bio_chunks(s))
    correct = sum((g & p).values())
    ng, np_ = sum(g.values()), sum(p.values())
    prec = correct / np_ if np_ else 0.0
    rec = correct / ng if ng else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f1, ng, np_, correct


def paired_sentences(tags, min_sentences=0):
    """Strategy: (gold, pred) lists of sentences with matching lengths."""
    sentence = st.lists(st.tuples(st.sampled_from(tags), st.sampled_from(tags)), max_size=12)
    return st.lists(sentence, min_size=min_sentences, max_size=8).map(
        lambda sents: ([[g for g, _ in s] for s in sents], [[p for _, p in s] for s in sents])
    )


@given(st.lists(st.sampled_from(BIO_TAGS), max_size=30))
def test_get_chunks_matches_reference(tags):
    assert get_chunks(tags) == reference_bio_chunks(tags)


@given(paired_sentences(BIO_TAGS))
def test_slot_f1_matches_reference(pair):
    gold, pred = pair
    s = slot_f1(gold, pred)
    prec, rec, f1, ng, np_, correct = reference_scores(gold, pred)
    assert (s.num_gold, s.num_pred, s.num_correct) == (ng, np_, correct)
    assert s.precision == pytest.approx(prec)
    assert s.recall == pytest.approx(rec)
    assert s.f1 == pytest.approx(f1)
    assert 0.0 <= s.f1 <= 1.0


@given(paired_sentences(BIO_TAGS))
def test_perfect_prediction(pair):
    gold, _ = pair
    s = slot_f1(gold, gold)
    assert s.num_correct == s.num_gold == s.num_pred
    assert s.f1 == (1.0 if s.num_gold else 0.0)


# ----------------------------------------------------------------------------- seqeval

IOBES_TAGS = BIO_TAGS + ["E-a", "S-a", "E-b", "S-b", "B-_", "I-_", "E-_", "B-x-y", "I-x-y"]


@pytest.mark.parametrize("alphabet", [BIO_TAGS, IOBES_TAGS], ids=["bio", "iobes"])
def test_matches_seqeval(alphabet):
    seqeval_metrics = pytest.importorskip("seqeval.metrics")
    from seqeval.metrics.sequence_labeling import get_entities

    @settings(max_examples=300, deadline=None)
    @given(paired_sentences(alphabet, min_sentences=1))  # seqeval rejects an empty corpus
    def check(pair):
        gold, pred = pair
        s = slot_f1(gold, pred)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert s.precision == pytest.approx(seqeval_metrics.precision_score(gold, pred))
            assert s.recall == pytest.approx(seqeval_metrics.recall_score(gold, pred))
            assert s.f1 == pytest.approx(seqeval_metrics.f1_score(gold, pred))
            for sent in gold:
                assert get_chunks(sent) == get_entities(list(sent))

    check()


def test_score_examples_scores_what_is_labeled():
  from pqrnn_tf import metrics
  from pqrnn_tf.data.examples import Example
  examples = [Example("to boston", "flight", ("O", "B-city")),
              Example("fares", "fare", ("O",))]
  pred_intents, pred_tags = ["flight", "flight"], [("O", "B-city"), ("O",)]
  assert metrics.score_examples(examples, pred_intents, pred_tags) == metrics.evaluate(
      ["flight", "fare"], pred_intents, [("O", "B-city"), ("O",)], pred_tags)
  assert "slot_f1" not in metrics.score_examples(examples, pred_intents, None)
  no_intents = [Example(e.text, None, e.tags) for e in examples]
  assert "intent_accuracy" not in metrics.score_examples(no_intents, pred_intents, pred_tags)
  assert metrics.score_examples([Example("hi")], ["flight"], None) == {}
  assert metrics.score_examples([], [], []) == {}
