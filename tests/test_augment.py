"""Augmentation: each operation does what it says, seeded, never duplicates."""
import json

import pytest

from pqrnn_tf.data import augment, readers
from pqrnn_tf.data.examples import Example

TRAIN = [
    Example("flights from boston to denver", "flight",
            ["O", "O", "B-from", "O", "B-to"]),
    Example("fares from new york to san francisco", "airfare",
            ["O", "O", "B-from", "I-from", "O", "B-to", "I-to"]),
    Example("hello", "greet", ["O"]),
]


def test_slot_spans_follow_bio():
  assert augment.slot_spans(["O", "B-a", "I-a", "B-a", "I-b", "O"]) == [
      (1, 3, "a"), (3, 4, "a"), (4, 5, "b")]
  assert augment.slot_values(TRAIN) == {
      "from": [("boston",), ("new", "york")], "to": [("denver",), ("san", "francisco")]}


def test_substitute_keeps_the_frame_and_uses_values_of_the_same_type():
  augmenter = augment.Augmenter(TRAIN, augment.AugmentConfig(seed=1))
  values = {v for vs in augmenter.values.values() for v in vs}
  for _ in range(20):
    tokens = augmenter.variant(TRAIN[0], "substitute")
    assert tokens[:2] == ["flights", "from"] and "to" in tokens
    from_value = tuple(tokens[2:tokens.index("to")])
    assert from_value in [("boston",), ("new", "york")]
    assert tuple(tokens[tokens.index("to") + 1:]) in values
  # A sentence with no slot has nothing to substitute.
  assert augmenter.variant(TRAIN[2], "substitute") is None


def test_mask_drop_ngram():
  augmenter = augment.Augmenter(TRAIN, augment.AugmentConfig(seed=2, mask_token="<m>"))
  tokens = list(TRAIN[1].tokens)
  for _ in range(20):
    masked = augmenter.variant(TRAIN[1], "mask")
    assert len(masked) == len(tokens) and "<m>" in masked
    assert all(m in (t, "<m>") for m, t in zip(masked, tokens))
    dropped = augmenter.variant(TRAIN[1], "drop")
    assert 1 <= len(dropped) < len(tokens)
    it = iter(tokens)
    assert all(t in it for t in dropped)  # A subsequence, in order.
    gram = augmenter.variant(TRAIN[1], "ngram")
    assert len(tokens) // 2 <= len(gram) < len(tokens)
    assert " ".join(gram) in TRAIN[1].text
  assert augmenter.variant(TRAIN[2], "drop") is None  # One token: nothing to drop.


def test_augment_is_seeded_distinct_and_unlabeled():
  config = augment.AugmentConfig(multiplier=3, seed=7)
  first = augment.Augmenter(TRAIN, config).augment(TRAIN)
  again = augment.Augmenter(TRAIN, config).augment(TRAIN)
  other = augment.Augmenter(TRAIN, augment.AugmentConfig(multiplier=3, seed=8)).augment(TRAIN)
  assert first == again and first != other
  texts = [e.text for e in first]
  assert len(set(texts)) == len(texts)
  assert not set(texts) & {e.text for e in TRAIN}
  assert all(e.intent is None and e.tags is None for e in first)
  assert len(first) <= 3 * len(TRAIN)


def test_bad_config_names_the_problem():
  with pytest.raises(ValueError, match="operations"):
    augment.AugmentConfig(operations=("shuffle",)).validate()
  with pytest.raises(ValueError, match="mask_prob"):
    augment.AugmentConfig(mask_prob=0).validate()
  with pytest.raises(ValueError, match="mask_token"):
    augment.AugmentConfig(mask_token="two words").validate()


def test_written_variants_read_back(tmp_path):
  path = tmp_path / "aug.jsonl"
  variants = augment.Augmenter(TRAIN).augment(TRAIN)
  assert readers.write_jsonl(variants, path) == len(variants)
  assert readers.read_jsonl(path) == variants
  assert all(set(json.loads(line)) == {"text"} for line in path.read_text().splitlines())
