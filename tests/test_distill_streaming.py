"""Distillation from sharded teacher logits, streamed through tf.data."""
from __future__ import annotations

import os
import random

import numpy as np
import pytest

from pqrnn_tf.data import teacher_logits
from pqrnn_tf.data.examples import Example, LabelVocab
from pqrnn_tf.models import INTENT_OUTPUT, SLOTS_OUTPUT
from pqrnn_tf.train import distillation, trainer
from pqrnn_tf.train.data import make_dataset

INTENTS = LabelVocab(["flight", "fare", "greet"])
TAGS = LabelVocab(["O", "B-city", "I-city"], fallback="O")
# The teacher's own label order, with a label the student lacks.
TEACHER_INTENTS = ["fare", "other", "greet", "flight"]
TEACHER_TAGS = ["I-city", "O", "B-city", "B-time"]
WORDS = ["flights", "to", "boston", "fare", "new", "york", "hi", "at", "noon"]


def corpus(num_gold: int, num_extra: int, seed: int) -> tuple[list[Example], list[str]]:
  """(gold examples with distinct texts, extra teacher-only texts, empty ones among them)."""
  rng = random.Random(seed)
  texts: list[str] = []
  while len(texts) < num_gold + num_extra:
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 9)))
    if text not in texts:
      texts.append(text)
  gold = [Example(t, rng.choice(INTENTS.labels),
                  tuple(rng.choice(TAGS.labels) for _ in t.split())) for t in texts[:num_gold]]
  extra = texts[num_gold:]
  extra[len(extra) // 2] = "   "  # A blank teacher-only text is dropped.
  return gold, extra


def write_shards(directory, texts: list[str], shard_size: int, seed: int = 0) -> str:
  """Random teacher logits for `texts` as a shard directory with its index."""
  rng = np.random.default_rng(seed)
  os.makedirs(directory, exist_ok=True)
  index = teacher_logits.plan_shards(texts, shard_size)
  for shard in index["shards"]:
    part = texts[shard["first_text"]:shard["first_text"] + shard["num_texts"]]
    teacher_logits.save_teacher_logits(
        os.path.join(directory, shard["file"]), part, TEACHER_INTENTS, TEACHER_TAGS,
        rng.normal(size=(len(part), len(TEACHER_INTENTS))) * 3,
        [rng.normal(size=(len(t.split()), len(TEACHER_TAGS))) * 3 for t in part])
  teacher_logits.write_json(os.path.join(directory, teacher_logits.INDEX_FILE), index)
  return str(directory)


def elements(dataset) -> list[tuple]:
  """Every example of a batched dataset: (text, intent targets, slot targets
  padded to its batch's longest text)."""
  out = []
  for texts, targets in dataset:
    for k, text in enumerate(texts.numpy().tolist()):
      out.append((text.decode(), targets[INTENT_OUTPUT][k].numpy(),
                  targets[SLOTS_OUTPUT][k].numpy()))
  return out


CONFIG = dict(temperature=2.0, teacher_scale=1.5)


def test_streamed_rows_equal_the_in_memory_join(tmp_path):
  gold, extra = corpus(30, 25, seed=0)
  # Gold texts first in training order, then the extra ones: the in-memory order.
  shards = write_shards(tmp_path / "logits", [e.text for e in gold] + extra, shard_size=7)
  one_file = str(tmp_path / "all.npz")
  whole = teacher_logits.load_teacher_logits(shards)
  teacher_logits.save_teacher_logits(one_file, whole.texts.tolist(), TEACHER_INTENTS,
                                     TEACHER_TAGS, whole.intent_logits,
                                     [whole.slot_logits_of(i) for i in range(len(whole))])
  in_memory = distillation.teacher_targets(
      gold, distillation.DistillConfig(teacher_logits=(one_file,), **CONFIG), INTENTS, TAGS)
  want = elements(make_dataset(in_memory.examples, INTENTS, TAGS, 5, teacher=in_memory))
  config = distillation.DistillConfig(teacher_logits=(shards,), **CONFIG)
  assert distillation.is_streamed(config)
  streamed = distillation.StreamedTeacher(gold, config, INTENTS, TAGS)
  assert len(streamed) == len(in_memory.examples) == 30 + 24
  assert [e.text for e in streamed] == [e.text for e in in_memory.examples]
  # One shard at a time: the rows in shard order, as the in-memory join has them.
  got = elements(distillation.make_streaming_dataset(streamed, 5, cycle_length=1))
  assert [g[0] for g in got] == [w[0] for w in want]
  for g, w in zip(got, want):
    np.testing.assert_allclose(g[1], w[1], atol=1e-6)
    np.testing.assert_allclose(g[2], w[2], atol=1e-6)


def test_the_order_is_fixed_by_the_seed_and_each_row_comes_once(tmp_path):
  gold, extra = corpus(20, 60, seed=1)
  texts = extra[:30] + [e.text for e in gold] + extra[30:]
  shards = os.path.join(write_shards(tmp_path / "logits", texts, shard_size=9), "shard-*")
  config = distillation.DistillConfig(teacher_logits=(shards,), **CONFIG)
  streamed = distillation.StreamedTeacher(gold, config, INTENTS, TAGS)

  def order(seed):
    ds = distillation.make_streaming_dataset(streamed, 4, shuffle=True, seed=seed,
                                             shuffle_buffer=16, cycle_length=2)
    return [t for t, _, _ in elements(ds)]

  first = order(3)
  assert first == order(3)
  assert first != order(4)
  assert sorted(first) == sorted(t for t in texts if t.strip())


def test_grouped_by_length_the_same_rows_come_with_less_padding(tmp_path):
  """The fast loop's stream: batches of similar length (as in-memory data),
  every row once, the order fixed by the seed."""
  gold, extra = corpus(40, 160, seed=5)
  texts = [e.text for e in gold] + extra
  shards = write_shards(tmp_path / "logits", texts, shard_size=25)
  config = distillation.DistillConfig(teacher_logits=(shards,), **CONFIG)
  streamed = distillation.StreamedTeacher(gold, config, INTENTS, TAGS)

  def batches(length_window, seed=0):
    ds = distillation.make_streaming_dataset(streamed, 8, shuffle=True, seed=seed,
                                             shuffle_buffer=64, length_window=length_window)
    return [(t.numpy().tolist(), y[SLOTS_OUTPUT].shape[1]) for t, y in ds]

  def padding(result):  # Padded rows per word.
    words = sum(len(t.split()) for texts, _ in result for t in texts)
    return sum(len(texts) * width for texts, width in result) / words

  plain, grouped = batches(0), batches(4)
  rows = lambda result: sorted(t.decode() for texts, _ in result for t in texts)  # noqa: E731
  assert rows(grouped) == rows(plain) == sorted(t for t in texts if t.strip())
  assert len(grouped) == len(plain)  # The same number of steps an epoch.
  assert grouped == batches(4) and grouped != batches(4, seed=1)
  assert padding(grouped) < 0.8 * padding(plain), (padding(grouped), padding(plain))


def test_workers_read_disjoint_shares_of_the_shards(tmp_path):
  gold, extra = corpus(10, 40, seed=2)
  texts = [e.text for e in gold] + extra
  shards = write_shards(tmp_path / "logits", texts, shard_size=5)  # 10 shards.
  config = distillation.DistillConfig(teacher_logits=(shards,), **CONFIG)
  streamed = distillation.StreamedTeacher(gold, config, INTENTS, TAGS)
  shares = [[t for t, _, _ in elements(distillation.make_streaming_dataset(
      streamed, 4, shuffle=True, seed=0, num_workers=2, worker_index=k))] for k in (0, 1)]
  assert not set(shares[0]) & set(shares[1])
  assert sorted(shares[0] + shares[1]) == sorted(t for t in texts if t.strip())
  # Worker k's share is its shards' rows: shards k, k + 2, ...
  paths = teacher_logits.shard_paths(shards)
  for k in (0, 1):
    mine = {t for p in paths[k::2] for t in teacher_logits.read_texts(p).tolist()}
    assert set(shares[k]) <= mine


def test_shards_are_read_a_few_at_a_time(tmp_path, monkeypatch):
  gold, extra = corpus(5, 195, seed=3)
  shards = write_shards(tmp_path / "logits", [e.text for e in gold] + extra, shard_size=5)
  config = distillation.DistillConfig(teacher_logits=(shards,), **CONFIG)
  streamed = distillation.StreamedTeacher(gold, config, INTENTS, TAGS)
  loaded = []
  real = teacher_logits.load_teacher_logits
  monkeypatch.setattr(teacher_logits, "load_teacher_logits",
                      lambda path: loaded.append(path) or real(path))
  ds = distillation.make_streaming_dataset(streamed, 4, shuffle=True, seed=0,
                                           shuffle_buffer=8, cycle_length=2)
  next(iter(ds))
  # The first batch needs a few of the 40 shards' logits, not all.
  assert 1 <= len(loaded) <= 8, len(loaded)


def test_no_more_shards_are_open_than_the_cycle_length(tmp_path, monkeypatch):
  """A shard is loaded whole while its rows are read, so the number read at
  once bounds the memory: `cycle_length`, not more (a parallel interleave
  also opened shards ahead, 12 for a cycle of 4), over a whole epoch."""
  import threading
  gold, extra = corpus(5, 395, seed=3)
  shards = write_shards(tmp_path / "logits", [e.text for e in gold] + extra, shard_size=20)
  config = distillation.DistillConfig(teacher_logits=(shards,), **CONFIG)
  streamed = distillation.StreamedTeacher(gold, config, INTENTS, TAGS)
  real, lock, count = distillation.StreamedTeacher.rows, threading.Lock(), {"open": 0, "most": 0}

  def counted_rows(self, path, tokenization):
    with lock:
      count["open"] += 1
      count["most"] = max(count["most"], count["open"])
    try:
      yield from real(self, path, tokenization)
    finally:
      with lock:
        count["open"] -= 1

  monkeypatch.setattr(distillation.StreamedTeacher, "rows", counted_rows)
  for options in (None, trainer.NO_AUTOTUNE):  # pqrnn-train's fast loop sets these.
    count["most"] = 0
    ds = distillation.make_streaming_dataset(streamed, 4, shuffle=True, seed=0,
                                             shuffle_buffer=8, cycle_length=4)
    ds = ds if options is None else ds.with_options(options)
    assert sum(len(texts) for texts, _ in ds) == len(streamed)
    assert count["most"] == 4, count


def test_a_gold_text_without_a_row_and_unfinished_shards_are_named(tmp_path):
  gold, extra = corpus(6, 6, seed=4)
  shards = write_shards(tmp_path / "logits", [e.text for e in gold[1:]] + extra, shard_size=4)
  config = distillation.DistillConfig(teacher_logits=(shards,), **CONFIG)
  with pytest.raises(ValueError, match="1 of 6 training texts have no teacher logits"):
    distillation.StreamedTeacher(gold, config, INTENTS, TAGS)
  os.remove(os.path.join(shards, teacher_logits.shard_file(1, 3)))
  with pytest.raises(ValueError, match="1 of 3 shards are not written yet"):
    distillation.StreamedTeacher(gold[1:], config, INTENTS, TAGS)


def test_training_streams_sharded_teacher_logits(tmp_path, trainable_config, capsys):
  gold, extra = corpus(12, 20, seed=5)
  shards = write_shards(tmp_path / "logits", extra[:10] + [e.text for e in gold] + extra[10:],
                        shard_size=6)
  config = trainer.make_config(trainable_config(), gold, epochs=1, batch_size=8,
                               distill={"teacher_logits": [shards], "temperature": 2.0})
  model = trainer.train(config, str(tmp_path / "run"), gold, gold[:4], verbose=0)
  out = model(np.array([e.text for e in gold[:2]]), training=False)
  assert out[INTENT_OUTPUT].shape[0] == 2
  printed = capsys.readouterr().out
  assert "streamed from 6 teacher shards: 12 rows with gold labels + 19 teacher-only" in printed
  assert "Streaming teacher logits: worker 0 of 1 reads 6 of 6 shards" in printed


def test_two_workers_distill_from_shards_each_reading_its_share(tmp_path):
  """`pqrnn-train --strategy=multi_worker` with two local workers and teacher
  shards: each worker streams its own half of the 4 shards (by file), and the
  student, taught by the teacher's soft labels alone (the rule teacher of
  tests/test_learning.py, which answers unlike the gold labels), agrees with
  the teacher's argmax on the test set (relabeled with the teacher's answers)."""
  import re
  import sys
  from tests import test_learning as toy
  from tests.test_distributed import run_local_workers
  toy.write_splits(tmp_path, intent_map=toy.TEACHER_INTENT, tag_map=toy.TEACHER_TAG)
  rows = toy.toy_examples(300, seed=0)  # train.jsonl's rows, in its order.
  intent_labels, tag_labels = sorted(toy.TEACHER_INTENT), sorted(toy.TEACHER_TAG)
  shards = tmp_path / "teacher"
  os.makedirs(shards)
  texts = [r["text"] for r in rows]
  index = teacher_logits.plan_shards(texts, 75)
  for shard in index["shards"]:
    part = rows[shard["first_text"]:shard["first_text"] + shard["num_texts"]]
    intent = np.zeros((len(part), len(intent_labels)), np.float32)
    slots = []
    for i, r in enumerate(part):
      intent[i, intent_labels.index(toy.TEACHER_INTENT[r["label"]])] = toy.TEACHER_CONFIDENCE
      slots.append(np.zeros((len(r["tags"]), len(tag_labels)), np.float32))
      for j, tag in enumerate(r["tags"]):
        slots[-1][j, tag_labels.index(toy.TEACHER_TAG[tag])] = toy.TEACHER_CONFIDENCE
    teacher_logits.save_teacher_logits(shards / shard["file"], [r["text"] for r in part],
                                      intent_labels, tag_labels, intent, slots)
  teacher_logits.write_json(str(shards / teacher_logits.INDEX_FILE), index)
  command = [sys.executable, "-m", "pqrnn_tf.console", "pqrnn-train",
             *toy.split_flags(tmp_path), "--preset=pqrnn_small", "--epochs=6",
             f"--teacher_logits={shards}", "--hard_weight=0", "--strategy=multi_worker",
             f"--model_dir={tmp_path / 'run'}"]
  report = run_local_workers(command, tmp_path)
  shares = []
  for worker in range(2):
    log = (tmp_path / f"worker{worker}.log").read_text()
    (share,) = re.findall(rf"Streaming teacher logits: worker {worker} of 2 reads 2 of 4 "
                          r"shards \(by file\): (.*)", log)
    shares.append(share.strip())
  assert shares == ["shard-00000-of-00004.npz, shard-00002-of-00004.npz",
                    "shard-00001-of-00004.npz, shard-00003-of-00004.npz"], report[-2000:]
  test = toy.scores_on_test(tmp_path / "run")
  assert test["intent_accuracy"] >= 0.95, (test, report[-2000:])
  assert test["slot_f1"] >= 0.9, (test, report[-2000:])
