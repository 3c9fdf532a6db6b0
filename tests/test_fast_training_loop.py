"""The fast training loop feeds the model what the baseline loop does, and learns.

pqrnn-train --loop=fast groups sentences of similar length into batches
(`data.length_grouped_batches`), gathers each batch from in-memory columns
instead of `padded_batch`, and scores dev sorted by length. Here: the same
examples with the same targets and padding rules as the baseline pipeline (plain,
slot and distillation targets), the grouping itself, dev predictions equal in
either order, and a tiny run that learns a toy task.
"""
from __future__ import annotations

import collections

import numpy as np
import pytest

from tests.test_train_cli import make_examples


def _examples(n: int, seed: int = 0, with_tags: bool = True):
  from pqrnn_tf.data.examples import Example  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(seed)
  out = []
  for e in make_examples(n, seed):
    # Drop a random tail: lengths from 1 word up, so that padding differs.
    keep = int(rng.integers(1, len(e["text"].split()) + 1))
    words, tags = e["text"].split()[:keep], e["tags"][:keep]
    out.append(Example(" ".join(words), e["label"], tuple(tags) if with_tags else None))
  return out


def _vocabs(examples, with_tags: bool = True):
  from pqrnn_tf.train.data import scan_labels  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.data.examples import LabelVocab  # pylint: disable=g-import-not-at-top
  scan = scan_labels([("toy", examples)])
  tags = LabelVocab(tuple(scan.tag_labels)) if with_tags and scan.tag_labels else None
  return LabelVocab(tuple(scan.intent_labels)), tags


def _by_text(dataset, lengths_of) -> tuple[dict, list[int]]:
  """{text: [targets of each occurrence, trimmed to its rows]} and each batch's
  padded time length minus what the pipeline rule says it must be."""
  found = collections.defaultdict(list)
  excess = []
  for texts, targets in dataset:
    texts = [t.decode() for t in texts.numpy()]
    rows = [lengths_of(t) for t in texts]
    intent = targets["intent"].numpy()
    slots = targets["slots"].numpy() if "slots" in targets else None
    if slots is not None:
      excess.append(slots.shape[1] - max(max(rows), 1))
    for i, text in enumerate(texts):
      entry = [intent[i].tolist()]
      if slots is not None:
        entry.append(slots[i, :rows[i]].tolist())
        entry.append(float(np.abs(slots[i, rows[i]:]).sum()))  # Padding is zeros.
      found[text].append(entry)
  return {k: sorted(v) for k, v in found.items()}, excess


@pytest.mark.parametrize("with_tags", [True, False])
def test_grouped_batches_hold_the_baseline_targets(with_tags):
  from pqrnn_tf.data.tokens import Tokenization  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.train.data import make_dataset  # pylint: disable=g-import-not-at-top
  examples = _examples(150, seed=1, with_tags=with_tags)
  intents, tags = _vocabs(examples, with_tags)
  tokenization = Tokenization(add_bos=True, add_eos=True)
  rows = lambda text: len(tokenization.row_words(text))
  common = dict(batch_size=16, shuffle=True, seed=3, tokenization=tokenization)
  baseline = make_dataset(examples, intents, tags, **common)
  fast = make_dataset(examples, intents, tags, length_window=4, **common)
  expected, excess = _by_text(baseline, rows)
  assert set(excess) <= {0}
  for _ in range(2):  # Two epochs: each a new grouping, the same contents.
    got, excess = _by_text(fast, rows)
    assert got == expected
    assert set(excess) <= {0}  # Padded to the batch's own longest sentence.
  assert len(list(fast)) == len(list(baseline)) == 10  # ceil(150 / 16)


def test_grouped_batches_hold_the_distillation_targets():
  from pqrnn_tf.data.tokens import Tokenization  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.train.data import make_dataset  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.train.distillation import TeacherTargets  # pylint: disable=g-import-not-at-top
  examples = _examples(60, seed=2)
  intents, tags = _vocabs(examples)
  rng = np.random.default_rng(0)
  teacher = TeacherTargets(
      examples, rng.dirichlet(np.ones(len(intents)), len(examples)).astype(np.float32),
      [rng.dirichlet(np.ones(len(tags)), len(e.text.split())).astype(np.float32)
       for e in examples])
  tokenization = Tokenization(add_bos=True, add_eos=False)
  rows = lambda text: len(tokenization.row_words(text))
  common = dict(batch_size=8, shuffle=True, seed=5, teacher=teacher,
                tokenization=tokenization)
  expected, _ = _by_text(make_dataset(examples, intents, tags, **common), rows)
  got, excess = _by_text(make_dataset(examples, intents, tags, length_window=2, **common),
                         rows)
  assert got == expected
  assert set(excess) == {0}


def test_length_grouped_batches_cover_every_example_with_less_padding():
  from pqrnn_tf.train.data import length_grouped_batches  # pylint: disable=g-import-not-at-top
  lengths = np.random.default_rng(0).integers(1, 60, size=1000)
  batches = length_grouped_batches(lengths, 32, 8, np.random.default_rng(1))
  assert len(batches) == 32  # ceil(1000 / 32)
  assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
  assert sorted(len(b) for b in batches)[1:] == [32] * 31
  grouped = sum(len(b) * lengths[b].max() for b in batches)
  order = np.random.default_rng(1).permutation(1000)
  plain = sum(len(b) * lengths[b].max() for b in np.array_split(order, range(32, 1000, 32)))
  assert grouped < 0.6 * plain
  again = length_grouped_batches(lengths, 32, 8, np.random.default_rng(1))
  assert all(np.array_equal(a, b) for a, b in zip(batches, again))  # Seeded.
  unshuffled = length_grouped_batches(lengths, 32, 8, None)
  assert np.concatenate(unshuffled).tolist() == sorted(
      range(1000), key=lambda i: (i // 256, lengths[i], i))


def test_dev_predictions_do_not_depend_on_length_order(tiny_config):
  from pqrnn_tf.models import build_model  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.train import evaluation  # pylint: disable=g-import-not-at-top
  examples = _examples(40, seed=4)
  intents, tags = _vocabs(examples)
  model = build_model(tiny_config(), len(intents), len(tags))
  sorted_run = evaluation.predict(model, examples, intents, tags, batch_size=8)
  plain_run = evaluation.predict(model, examples, intents, tags, batch_size=8,
                                 sort_by_length=False)
  assert sorted_run == plain_run
  assert len(sorted_run[0]) == len(examples)
  assert [len(t) for t in sorted_run[1]] == [len(e.text.split()) for e in examples]


def test_fast_loop_learns_a_toy_task(tmp_path, trainable_config):
  from pqrnn_tf import metrics  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.train import evaluation, trainer  # pylint: disable=g-import-not-at-top
  train, dev = _examples(400, seed=6), _examples(80, seed=7)
  config = trainer.make_config(trainable_config(), train, epochs=6, batch_size=16,
                               learning_rate=0.01)
  model = trainer.train(config, str(tmp_path), train, dev, verbose=0, loop="fast")
  intents, tags = config.vocabs()
  scores = metrics.score_examples(dev, *evaluation.predict(model, dev, intents, tags))
  # Each intent's sentences start with their own word ("show", "how", "what"):
  # learnable from any prefix; chance is about 1/3.
  assert scores["intent_accuracy"] > 0.8
  assert scores["slot_f1"] > 0.5


def test_unknown_loop_is_refused(tmp_path, trainable_config):
  from pqrnn_tf.train import trainer  # pylint: disable=g-import-not-at-top
  train = _examples(20)
  config = trainer.make_config(trainable_config(), train, epochs=1)
  with pytest.raises(ValueError, match="loop must be one of"):
    trainer.train(config, str(tmp_path), train, train, loop="fastest")
