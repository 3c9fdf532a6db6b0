"""Teacher logits for a list of texts, written in the format of pqrnn_tf/data/teacher_logits.py."""
from __future__ import annotations

import json
import os
from collections.abc import Sequence

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
