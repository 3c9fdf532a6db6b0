"""tf.data pipelines: in memory from `Example`s, or streamed from sharded files.

Small data (ATIS, one file) is read into memory and sliced (`make_dataset`).
Training data given as a glob of shards (`--train_file='train-*.jsonl'`) is
never held in memory as a whole: `ShardedExamples` lists the shards and
`make_streaming_dataset` reads them through tf.data, a few shards at a time
(`interleave` of per-shard readers). Each shard is parsed by the strict readers
of `pqrnn_tf.data.readers`, so a malformed line still fails with its file and
line number. The unit of streaming is the shard: memory holds the examples of
the few shards being read (about `cycle_length`) plus the shuffle buffer, so
split big data into many shards (any size that fits in memory a few at a time).

Label vocabularies need one pass over the training labels before the model is
built: `ShardedExamples.scan` makes it shard by shard (keeping only the label
sets and counts), which also validates every line before training starts.

Distributed training (more than one replica) goes through
`distributed_dataset`, i.e. `strategy.distribute_datasets_from_function`: each
worker builds its own input pipeline, batched per replica, and shards it
itself, deliberately:
  * streamed shards, at least as many as workers: by FILE. Worker i reads
    every num_workers-th shard (`files.shard`).
  * fewer shards than workers, and the in-memory path: by DATA. Every worker
    reads all the data in the same order (deterministic interleave, seeded
    shuffles) and keeps every num_workers-th example (`shard` before batching).
tf.data's own auto-sharding is set to OFF on these datasets: sharding is done
already, and its FILE policy could not do it anyway, since it only recognizes
TF reader ops (TextLineDataset, TFRecordDataset) as file sources, not our
Python readers ("Found an unshardable source dataset"). Batching per replica
(rather than a global batch that tf.distribute splits) also keeps each
replica's slot targets padded to its own longest sentence, the time length
its model outputs have.
"""
from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

import numpy as np
import tensorflow as tf

from pqrnn_tf.data import readers
from pqrnn_tf.data.examples import OUTSIDE_TAG, Example, LabelVocab
from pqrnn_tf.data.tokens import NO_WORD, Tokenization
from pqrnn_tf.models.heads import INTENT_OUTPUT, SLOTS_OUTPUT

if TYPE_CHECKING:
  from pqrnn_tf.train.distillation import TeacherTargets

#: Label id of an example (or token) with no gold label: distillation's
#: teacher-only texts (its loss skips the hard term for them).
NO_LABEL = -1
#: Examples held by the streaming shuffle buffer.
SHUFFLE_BUFFER = 10_000
#: Shards read concurrently by the streaming pipeline.
CYCLE_LENGTH = 4


def read_shard(path: str) -> list[Example]:
  """All examples of one shard (a .tsv/.jsonl/.atis file), strictly parsed."""
  return readers.reader_for(path)(path)


@dataclasses.dataclass
class LabelScan:
  """What one pass over the training labels finds."""
  num_examples: int
  intent_labels: list[str]
  tag_labels: list[str]  # Empty unless every example has slot tags.


def scan_labels(groups: Iterable[tuple[str, Sequence[Example]]]) -> LabelScan:
  """Label sets of `(source name, examples)` groups, read one group at a time.

  Raises DataError (naming the source) for training examples without a label,
  which the model can't learn from.
  """
  intents, tags, has_tags, count = set(), set(), True, 0
  for source, examples in groups:
    unlabeled = [e for e in examples if e.intent is None]
    if unlabeled:
      raise readers.DataError(
          source, None, f"{len(unlabeled)} training example(s) have no label, "
                        f"e.g. {unlabeled[0].text!r}")
    for e in examples:
      intents.add(e.intent)
      if e.tags is None:
        has_tags = False
      elif has_tags:
        tags.update(e.tags)
    count += len(examples)
  tag_labels = []
  if has_tags and count:
    tag_labels = list(LabelVocab.build(tags, fallback=OUTSIDE_TAG).labels)
  return LabelScan(count, list(LabelVocab.build(intents).labels), tag_labels)


class ShardedExamples:
  """Training examples in shard files, streamed rather than loaded.

  Iterating yields the examples shard by shard; `scan()` is the one pass over
  the labels (cached); `len()` is the number of examples (it needs the scan).
  """

  def __init__(self, pattern: str):
    self.pattern = pattern
    self.paths = readers.list_files(pattern)
    self._scan: LabelScan | None = None

  def __iter__(self) -> Iterator[Example]:
    for path in self.paths:
      yield from read_shard(path)

  def __len__(self) -> int:
    return self.scan().num_examples

  def __repr__(self) -> str:
    return f"ShardedExamples({self.pattern!r}, {len(self.paths)} shards)"

  def texts(self) -> Iterator[str]:
    """The training texts, streamed (for models that build a word vocabulary)."""
    return (e.text for e in self)

  def scan(self) -> LabelScan:
    if self._scan is None:
      self._scan = scan_labels((p, read_shard(p)) for p in self.paths)
    return self._scan


def encode_labels(examples: Sequence[Example], intents: LabelVocab,
                  tags: LabelVocab | None,
                  tokenization: Tokenization = Tokenization.words()):
  """Intent ids `[N]` and, with `tags`, padded tag ids `[N, rows]`: one per
  row the model reads (`tokenization.row_tags`), so targets follow the
  model's own tokens and token limit.

  An example without an intent (or without tags) gets `NO_LABEL` there: the
  teacher-only examples of distillation, which have no gold labels.
  """
  intent_ids = np.array([NO_LABEL if e.intent is None else intents.index(e.intent)
                         for e in examples], np.int32)
  if tags is None:
    return intent_ids, None
  rows = [tokenization.row_tags(e.text, e.tags) if e.tags is not None
          else [None] * len(tokenization.row_words(e.text)) for e in examples]
  tag_ids = np.zeros((len(examples), max([len(r) for r in rows] + [1])), np.int32)
  for i, row in enumerate(rows):
    tag_ids[i, :len(row)] = [NO_LABEL if t is None else tags.index(t) for t in row]
  return intent_ids, tag_ids


def teacher_rows(slot_probs: np.ndarray, text: str, tokenization: Tokenization) -> np.ndarray:
  """The teacher's per-word tag probabilities `[words, tags]` as per-row
  targets: each row takes its word's; BOS / EOS rows are certain "O" (id 0)."""
  words = np.array(tokenization.row_words(text), np.int64)
  rows = slot_probs[np.maximum(words, 0)] if len(words) else slot_probs[:0]
  rows[words == NO_WORD] = np.eye(slot_probs.shape[1], dtype=slot_probs.dtype)[0]
  return rows


def _no_auto_shard(ds: tf.data.Dataset) -> tf.data.Dataset:
  """`ds`, marked as sharded already (see the module doc)."""
  options = tf.data.Options()
  options.experimental_distribute.auto_shard_policy = (
      tf.data.experimental.AutoShardPolicy.OFF)
  return ds.with_options(options)


def _to_example(text, intent, length, *tag_ids):
  targets = {INTENT_OUTPUT: intent}
  if tag_ids:
    targets[SLOTS_OUTPUT] = tag_ids[0][:tf.maximum(length, 1)]
  return text, targets


def _to_distillation_example(text, intent, length, teacher_intent, *slot_columns):
  """Targets as `DistillationLoss` reads them: [gold id | teacher probabilities]."""
  targets = {INTENT_OUTPUT: tf.concat(
      [tf.cast(intent, tf.float32)[None], teacher_intent], axis=0)}
  if slot_columns:
    tag_ids, teacher_slots = slot_columns
    n = tf.maximum(length, 1)
    targets[SLOTS_OUTPUT] = tf.concat(
        [tf.cast(tag_ids[:n], tf.float32)[:, None], teacher_slots[:n]], axis=1)
  return text, targets


def make_dataset(examples: Sequence[Example], intents: LabelVocab,
                 tags: LabelVocab | None, batch_size: int,
                 shuffle: bool = False, seed: int = 0,
                 labeled: bool = True, repeat: bool = False,
                 num_shards: int = 1, shard_index: int = 0,
                 teacher: "TeacherTargets | None" = None,
                 tokenization: Tokenization = Tokenization.words(),
                 length_window: int = 0) -> tf.data.Dataset:
  """Batches of `text` (and, if `labeled`, {intent, slots} targets).

  Slot targets are one per row of `tokenization` (the model's,
  `ModelConfig.tokenization`), padded to the longest sentence of each batch:
  the time dimension the model produces for that batch. `repeat` makes it endless
  (for distributed training, where the caller gives the steps per epoch).
  With `num_shards` > 1, keeps the examples of shard `shard_index` (by DATA).
  With `teacher` (the teacher's probabilities for each of `examples`), the
  targets are those of `distillation.DistillationLoss`.
  With `length_window` > 0 (one worker, no `repeat`), each batch holds
  sentences of similar length (`length_grouped_batches`): the same examples
  and targets, far less padding, the same number of batches.
  """
  texts = np.array([e.text.encode("utf-8") for e in examples], dtype=object)
  if not labeled:
    return tf.data.Dataset.from_tensor_slices(texts).batch(batch_size)
  intent_ids, tag_ids = encode_labels(examples, intents, tags, tokenization)
  lengths = np.array([len(tokenization.row_words(e.text)) for e in examples], np.int32)
  columns = (texts, intent_ids, lengths)
  if teacher is not None:
    if len(teacher.intent_probs) != len(examples):
      raise ValueError(f"{len(teacher.intent_probs)} teacher rows for {len(examples)} examples")
    columns += (teacher.intent_probs,)
  if tags is not None:
    columns += (tag_ids,)
    if teacher is not None:  # Ragged: one row per token, padded per batch below.
      slot_rows = [teacher_rows(p, e.text, tokenization)
                   for p, e in zip(teacher.slot_probs, examples)]
      columns += (tf.RaggedTensor.from_row_lengths(
          np.concatenate(slot_rows), [len(p) for p in slot_rows]),)
  if length_window > 0 and num_shards == 1 and not repeat:
    return _length_grouped_dataset(columns, lengths, batch_size, shuffle, seed,
                                   length_window, distilled=teacher is not None)
  ds = tf.data.Dataset.from_tensor_slices(columns)
  if shuffle:  # Seeded: the same order on every worker, which sharding needs.
    ds = ds.shuffle(len(examples), seed=seed, reshuffle_each_iteration=True)
  if num_shards > 1:
    ds = ds.shard(num_shards, shard_index)
  if repeat:
    ds = ds.repeat()
  ds = ds.map(_to_example if teacher is None else _to_distillation_example,
              num_parallel_calls=tf.data.AUTOTUNE)
  ds = ds.padded_batch(batch_size).prefetch(tf.data.AUTOTUNE)
  return _no_auto_shard(ds) if num_shards > 1 else ds


def length_grouped_batches(lengths: np.ndarray, batch_size: int, window: int,
                           rng: np.random.Generator | None) -> list[np.ndarray]:
  """One epoch's batches of example indices, each of similar lengths.

  The examples are shuffled (unless `rng` is None), cut into windows of
  `window` batches, sorted by length inside each window (stably) and cut into
  batches; then the batches are shuffled. Every example comes once, and there
  are `ceil(len(lengths) / batch_size)` batches, as with plain batching: one
  of them (the last window's last) may be smaller.
  """
  order = np.arange(len(lengths)) if rng is None else rng.permutation(len(lengths))
  span = batch_size * window
  batches = []
  for start in range(0, len(order), span):
    part = order[start:start + span]
    part = part[np.argsort(lengths[part], kind="stable")]
    batches.extend(part[i:i + batch_size] for i in range(0, len(part), batch_size))
  if rng is not None:
    batches = [batches[i] for i in rng.permutation(len(batches))]
  return batches


def _length_grouped_dataset(columns: tuple, lengths: np.ndarray, batch_size: int,
                            shuffle: bool, seed: int, window: int,
                            distilled: bool) -> tf.data.Dataset:
  """`make_dataset`'s batches, grouped by length: each batch is gathered from
  the in-memory columns by index (a new grouping every epoch when `shuffle`),
  padded to its own longest sentence like `padded_batch` pads them."""
  rng = np.random.default_rng(seed) if shuffle else None
  count = -(-len(lengths) // batch_size)

  def index_batches():  # Called once per epoch: rng moves on, so groupings differ.
    yield from length_grouped_batches(lengths, batch_size, window, rng)

  tensors = tuple(c if isinstance(c, tf.RaggedTensor) else tf.constant(c) for c in columns)

  def gather(indices):
    text, intent, length, *rest = [tf.gather(c, indices) for c in tensors]
    time = tf.maximum(tf.reduce_max(length), 1)
    if not distilled:
      targets = {INTENT_OUTPUT: intent}
      if rest:
        targets[SLOTS_OUTPUT] = rest[0][:, :time]
      return text, targets
    teacher_intent, *slot_columns = rest
    targets = {INTENT_OUTPUT: tf.concat(
        [tf.cast(intent, tf.float32)[:, None], teacher_intent], axis=1)}
    if slot_columns:
      tag_ids, teacher_slots = slot_columns
      teacher_slots = teacher_slots.to_tensor()  # As wide as the longest row (maybe 0).
      teacher_slots = tf.pad(teacher_slots,
                             [[0, 0], [0, time - tf.shape(teacher_slots)[1]], [0, 0]])
      targets[SLOTS_OUTPUT] = tf.concat(
          [tf.cast(tag_ids[:, :time], tf.float32)[:, :, None], teacher_slots], axis=2)
    return text, targets

  ds = tf.data.Dataset.from_generator(
      index_batches, output_signature=tf.TensorSpec([None], tf.int64))
  ds = ds.map(gather).apply(tf.data.experimental.assert_cardinality(count))
  return ds.prefetch(tf.data.AUTOTUNE)


def worker_shards(paths: Sequence[str], num_workers: int,
                  worker_index: int) -> tuple[list[str], str]:
  """(the shards worker `worker_index` of `num_workers` reads, how it shards):
  "by file" (its own shards) when there are at least as many shards as
  workers, "by data" (all shards, every `num_workers`-th example) when there
  are fewer, "single worker" (all shards) alone."""
  if num_workers > 1 and len(paths) >= num_workers:
    return list(paths)[worker_index::num_workers], "by file"  # == files.shard(...)
  return list(paths), "by data" if num_workers > 1 else "single worker"


def make_streaming_dataset(source: ShardedExamples, intents: LabelVocab,
                           tags: LabelVocab | None, batch_size: int,
                           shuffle: bool = False, seed: int = 0,
                           num_workers: int = 1, worker_index: int = 0,
                           repeat: bool = False,
                           shuffle_buffer: int = SHUFFLE_BUFFER,
                           cycle_length: int = CYCLE_LENGTH,
                           tokenization: Tokenization = Tokenization.words(),
                           length_window: int = 0) -> tf.data.Dataset:
  """Like `make_dataset`, streaming the shards of `source` (this worker's share),
  grouped by length in windows of `length_window` batches (see `batched_shards`).

  With `num_workers` > 1 and at least as many shards as workers, worker
  `worker_index` reads only its shards (by FILE); with fewer, it reads them all
  and keeps every `num_workers`-th example (by DATA).
  """
  paths, mode = worker_shards(source.paths, num_workers, worker_index)
  print(f"Streaming training data: worker {worker_index} of {num_workers} reads "
        f"{len(paths)} of {len(source.paths)} shards ({mode}): "
        f"{', '.join(os.path.basename(p) for p in paths)}", flush=True)

  def generate(path: bytes):
    for e in read_shard(path.decode("utf-8")):
      rows = (tokenization.row_tags(e.text, e.tags) if tags is not None
              else tokenization.row_words(e.text))
      tag_ids = [tags.index(t) for t in rows] if tags is not None else []
      yield (e.text.encode("utf-8"), np.int32(intents.index(e.intent)),
             np.int32(len(rows)), np.array(tag_ids, np.int32))

  signature = (tf.TensorSpec((), tf.string), tf.TensorSpec((), tf.int32),
               tf.TensorSpec((), tf.int32), tf.TensorSpec((None,), tf.int32))

  def read(path):
    ds = tf.data.Dataset.from_generator(generate, args=(path,),
                                        output_signature=signature)
    if tags is None:
      ds = ds.map(lambda text, intent, length, _: (text, intent, length))
    return ds

  return batched_shards(paths, mode, read, _to_example, batch_size, shuffle=shuffle,
                        seed=seed, num_workers=num_workers, worker_index=worker_index,
                        repeat=repeat, shuffle_buffer=shuffle_buffer,
                        cycle_length=cycle_length, length_window=length_window)


def batched_shards(paths: Sequence[str], mode: str, read: Callable, to_example: Callable,
                   batch_size: int, *, shuffle: bool, seed: int, num_workers: int,
                   worker_index: int, repeat: bool, shuffle_buffer: int,
                   cycle_length: int, length_window: int = 0) -> tf.data.Dataset:
  """Padded batches of `to_example` of the elements `read(path)` gives for each
  of `paths` (this worker's share and `mode`, from `worker_shards`):
  `cycle_length` shards read at once, shards and elements shuffled with
  `seed`, every `num_workers`-th element kept when `mode` is "by data".

  Elements are `(text, intent, length, ...)`. With `length_window` > 0 the
  stream is grouped by length as `length_grouped_batches` groups in-memory
  data: each window of `length_window` batches' elements is sorted by
  `length`, cut into batches, and (with `shuffle`) its batches shuffled, so a
  batch is padded to a length close to its elements' own. Memory holds one
  window; the batches per epoch stay ceil(elements / batch_size)."""
  files = tf.data.Dataset.from_tensor_slices(list(paths))
  if shuffle:
    files = files.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
  # Sequential: exactly `cycle_length` shards in memory. A parallel interleave
  # also opens shards ahead (12 at once for a cycle of 4), and a shard is
  # loaded whole; its deterministic order is this one. The same order on every
  # worker is what DATA sharding needs.
  ds = files.interleave(read, cycle_length=min(cycle_length, len(paths)))
  if shuffle:
    ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
  if num_workers > 1 and mode == "by data":
    ds = ds.shard(num_workers, worker_index)
  if repeat:
    ds = ds.repeat()
  if length_window > 0:
    def sorted_by_length(*window):  # One window's elements, padded to its longest.
      order = tf.argsort(window[2], stable=True)
      return tf.data.Dataset.from_tensor_slices(tuple(tf.gather(c, order) for c in window))
    # to_example cuts each element's padded rows back to its length.
    ds = ds.padded_batch(batch_size * length_window).flat_map(sorted_by_length)
  ds = ds.map(to_example, num_parallel_calls=tf.data.AUTOTUNE).padded_batch(batch_size)
  if length_window > 0 and shuffle:
    ds = ds.shuffle(length_window, seed=seed, reshuffle_each_iteration=True)
  ds = ds.prefetch(tf.data.AUTOTUNE)
  return _no_auto_shard(ds) if num_workers > 1 else ds


def distributed_dataset(strategy: tf.distribute.Strategy, global_batch_size: int,
                        build: Callable[[int, int, int], tf.data.Dataset]):
  """A distributed dataset whose workers each build their own pipeline.

  `build(num_workers, worker_index, per_replica_batch_size)` returns one
  worker's dataset, sharded and batched per replica (see the module doc).
  """
  replicas = strategy.num_replicas_in_sync
  if global_batch_size % replicas:
    raise ValueError(f"the batch size ({global_batch_size}) must be a multiple of "
                     f"the number of replicas ({replicas})")

  def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
    return build(context.num_input_pipelines, context.input_pipeline_id,
                 context.get_per_replica_batch_size(global_batch_size))

  return strategy.distribute_datasets_from_function(dataset_fn)
