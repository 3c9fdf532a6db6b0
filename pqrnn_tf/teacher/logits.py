"""Teacher logits for a list of texts, written in the format of pqrnn_tf/data/teacher_logits.py:
one file (`write_logits`), or shards that several processes write and a killed
run resumes (`write_logit_shards`).
"""
from __future__ import annotations

import glob
import json
import os
from collections.abc import Callable, Sequence

from pqrnn_tf.cli_errors import UserError

from pqrnn_tf.data import teacher_logits
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


def write_logit_shards(model_dir: str, texts: Sequence[str], output_dir: str, shard_size: int,
                       shard_index: int = 0, num_shards: int = 1, source: str = "",
                       batch_size: int = 32, num_threads: int = 2,
                       log: Callable[[str], None] = print) -> dict:
  """Writes the logits of `texts` as shards of `shard_size` texts in `output_dir`.

  This process writes shards k with ``k % num_shards == shard_index`` (so
  `num_shards` processes, each with its own `shard_index`, label the corpus
  together), skipping those already written: a run killed at any point is
  resumed by running it again. Every process writes the same `INDEX_FILE`.
  Returns a summary: shards written and skipped here, shards present in all.
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
  mine = [k for k in range(index["num_shards"]) if k % num_shards == shard_index]
  predictor = None
  written = skipped = tokens = uncovered = 0
  for k in mine:
    planned = index["shards"][k]
    path = os.path.join(output_dir, planned["file"])
    for leftover in glob.glob(glob.escape(path) + ".tmp-*"):  # Of a killed run: only ours.
      os.remove(leftover)
    if shard_is_done(path, planned):
      skipped += 1
      continue
    if predictor is None:
      predictor = predictor_lib.load_torch(model_dir, num_threads=num_threads)
    begin = planned["first_text"]
    part = list(texts[begin:begin + planned["num_texts"]])
    intent, slots, part_uncovered = predictor_lib.predict_all(predictor, part, batch_size)
    meta = {**index["meta"], "max_length": predictor.max_length, "shard": k,
            "num_shards": index["num_shards"], "first_text": begin,
            "texts_sha256": planned["texts_sha256"], "num_texts": len(part),
            "num_tokens": int(sum(len(s) for s in slots)),
            "num_uncovered_tokens": part_uncovered, "uncovered_token_logits": "zeros"}
    teacher_logits.save_teacher_logits(path, part, predictor.intent_labels,
                                      predictor.tag_labels, intent, slots, meta)
    written += 1
    tokens += meta["num_tokens"]
    uncovered += part_uncovered
    log(f"  {planned['file']}: {len(part)} texts")
  present = sum(shard_is_done(os.path.join(output_dir, s["file"]), s) for s in index["shards"])
  return {"written": written, "skipped": skipped, "present": present,
          "num_shards": index["num_shards"], "num_tokens": tokens,
          "num_uncovered_tokens": uncovered,
          "max_length": predictor.max_length if predictor else None}
