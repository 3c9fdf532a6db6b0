"""Teacher logits for a list of texts, written in the format of pqrnn_tf/data/teacher_logits.py:
one file (`write_logits`), or shards that several processes write and a killed
run resumes (`write_logit_shards`), streaming a corpus of any size
(`InputTexts`).
"""
from __future__ import annotations

import collections
import glob
import itertools
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence

from pqrnn_tf.cli_errors import UserError

from pqrnn_tf.data import readers, teacher_logits
from pqrnn_tf.teacher import predictor as predictor_lib
from pqrnn_tf.teacher import scoring


def _read_json(path: str) -> dict:
  if not os.path.isfile(path):
    return {}
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def teacher_meta(model_dir: str) -> dict:
  """What the logits file's meta says about the teacher (name, path, dev/test metrics)."""
  config = _read_json(os.path.join(model_dir, scoring.CONFIG_FILE))
  metrics = _read_json(os.path.join(model_dir, scoring.METRICS_FILE))
  return {
      "teacher": (config.get("data") or {}).get("teacher_name")
                 or os.path.basename(os.path.normpath(model_dir)),
      "teacher_path": os.path.abspath(model_dir),
      "pretrained": config.get("pretrained"),
      "metrics": {k: metrics[k] for k in ("dev", "test") if k in metrics},
  }


def write_logits(model_dir: str, texts: Sequence[str], output: str, source: str = "",
                 batch_size: int = 32, num_threads: int = 2) -> dict:
  """Runs the teacher in `model_dir` on `texts` and writes `output`; returns the meta dict.

  Words with no sub-word inside the encoder's length limit get all-zero slot
  logits (counted in meta["num_uncovered_tokens"]).
  """
  predictor = predictor_lib.load_torch(model_dir, num_threads=num_threads)
  intent, slots, uncovered = predictor_lib.predict_all(predictor, texts, batch_size,
                                                       progress=True)
  meta = {**teacher_meta(model_dir), "source": source, "max_length": predictor.max_length,
          "num_texts": len(texts), "num_tokens": int(sum(len(s) for s in slots)),
          "num_uncovered_tokens": uncovered, "uncovered_token_logits": "zeros"}
  teacher_logits.save_teacher_logits(output, texts, predictor.intent_labels,
                                    predictor.tag_labels, intent, slots, meta)
  return meta


def shard_is_done(path: str, planned: dict) -> bool:
  """Whether `path` holds the finished shard `planned` (an entry of the index):
  shard files appear only complete (written atomically), and its texts are
  the planned ones (a check of its meta; the logits are not read)."""
  return (os.path.isfile(path)
          and teacher_logits.read_meta(path).get("texts_sha256") == planned["texts_sha256"])


class InputTexts:
  """The texts of an input file (or glob) that the readers read, read anew
  at each iteration and never held whole: a corpus of any size."""

  def __init__(self, spec: str):
    self.spec = spec

  def __iter__(self) -> Iterator[str]:
    return (example.text for example in readers.iter_examples(self.spec))


def _shard_parts(texts: Iterable[str], index: dict, wanted: Sequence[int]
                 ) -> Iterator[tuple[int, list[str]]]:
  """(k, the texts of shard k) for each shard k of `wanted` (ascending), from
  one pass over `texts` that holds one shard's texts at a time and stops
  after the last wanted shard. A shard's texts that are not the planned ones
  (an input changed since it was planned) are a UserError."""
  remaining = iter(texts)
  wanted = set(wanted)
  for k, planned in enumerate(index["shards"]):
    if not wanted:
      return
    lines = itertools.islice(remaining, planned["num_texts"])
    if k not in wanted:
      collections.deque(lines, maxlen=0)  # Skipped, not kept.
      continue
    wanted.remove(k)
    part = list(lines)
    if teacher_logits.texts_digest(part) != planned["texts_sha256"]:
      raise UserError(f"the input's texts {planned['first_text']}.. are not those planned "
                      f"for {planned['file']}: did the input change while it was labeled?")
    yield k, part


def write_logit_shards(model_dir: str, texts: Iterable[str], output_dir: str, shard_size: int,
                       shard_index: int = 0, num_shards: int = 1, source: str = "",
                       batch_size: int = 32, num_threads: int = 2,
                       log: Callable[[str], None] = print) -> dict:
  """Writes the logits of `texts` as shards of `shard_size` texts in `output_dir`.

  `texts` is iterated twice (once to plan the shards, once to label them) and
  never held whole: a list, or `InputTexts` for a corpus larger than memory;
  this process holds one shard's texts and logits at a time.
  This process writes shards k with ``k % num_shards == shard_index`` (so
  `num_shards` processes, each with its own `shard_index`, label the corpus
  together), skipping those already written: a run killed at any point is
  resumed by running it again. Every process writes the same `INDEX_FILE`.
  Returns a summary: shards written and skipped here, shards present in all,
  texts in all.
  """
  if not 0 <= shard_index < num_shards:
    raise UserError(f"--shard_index={shard_index} must be in [0, --num_shards={num_shards})")
  index = teacher_logits.plan_shards(texts, shard_size, {**teacher_meta(model_dir),
                                                         "source": source})
  os.makedirs(output_dir, exist_ok=True)
  index_path = os.path.join(output_dir, teacher_logits.INDEX_FILE)
  if os.path.isfile(index_path):
    old = teacher_logits.read_index(index_path)
    fields = ("texts_sha256", "shard_size", "num_texts")
    if [old.get(k) for k in fields] != [index[k] for k in fields] or (
        old.get("meta", {}).get("teacher_path") != index["meta"]["teacher_path"]):
      raise UserError(f"--output={output_dir}: holds the teacher logits of other texts, "
                      "another --shard_size or another teacher; give a new directory")
  teacher_logits.write_json(index_path, index)
  pending = []
  skipped = 0
  for k in range(shard_index, index["num_shards"], num_shards):
    path = os.path.join(output_dir, index["shards"][k]["file"])
    for leftover in glob.glob(glob.escape(path) + ".tmp-*"):  # Of a killed run: only ours.
      os.remove(leftover)
    if shard_is_done(path, index["shards"][k]):
      skipped += 1
    else:
      pending.append(k)
  predictor = None
  written = tokens = uncovered = 0
  for k, part in _shard_parts(texts, index, pending):
    planned = index["shards"][k]
    if predictor is None:
      predictor = predictor_lib.load_torch(model_dir, num_threads=num_threads)
    begin = planned["first_text"]
    intent, slots, part_uncovered = predictor_lib.predict_all(predictor, part, batch_size)
    meta = {**index["meta"], "max_length": predictor.max_length, "shard": k,
            "num_shards": index["num_shards"], "first_text": begin,
            "texts_sha256": planned["texts_sha256"], "num_texts": len(part),
            "num_tokens": int(sum(len(s) for s in slots)),
            "num_uncovered_tokens": part_uncovered, "uncovered_token_logits": "zeros"}
    teacher_logits.save_teacher_logits(os.path.join(output_dir, planned["file"]), part,
                                      predictor.intent_labels, predictor.tag_labels, intent,
                                      slots, meta)
    del intent, slots  # Freed before the next shard is read.
    written += 1
    tokens += meta["num_tokens"]
    uncovered += part_uncovered
    log(f"  {planned['file']}: {len(part)} texts")
  present = sum(shard_is_done(os.path.join(output_dir, s["file"]), s) for s in index["shards"])
  return {"written": written, "skipped": skipped, "present": present,
          "num_shards": index["num_shards"], "num_texts": index["num_texts"],
          "num_tokens": tokens, "num_uncovered_tokens": uncovered,
          "max_length": predictor.max_length if predictor else None}
