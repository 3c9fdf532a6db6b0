"""ONNX export of the fine-tuned teacher: fp32, plus a dynamic-int8 copy, both verified.

Writes to the output directory:

- ``teacher.fp32.onnx``: inputs ``input_ids``, ``attention_mask`` (int64
  ``[batch, sequence]``, both axes dynamic); outputs ``intent_logits``
  ``[batch, I]`` and ``slot_logits`` ``[batch, sequence, S]`` (per sub-word;
  :mod:`pqrnn_tf.teacher.predictor` picks each word's first sub-word).
- ``teacher.int8.onnx``: ``onnxruntime.quantization.quantize_dynamic`` of it
  (int8 weights of MatMul/Gemm, activations quantized on the fly).
- the tokenizer files and ``labels.json``, so the directory is self-contained
  for :func:`pqrnn_tf.teacher.predictor.load_onnx`.
- ``report.json``: both models against PyTorch on the dev data (intent and tag
  agreement, max |logit difference|, dev metrics) and the file sizes.
"""
from __future__ import annotations

import json
import os
import shutil
import warnings

import numpy as np

from pqrnn_tf import metrics
from pqrnn_tf.data import readers
from pqrnn_tf.teacher import predictor as predictor_lib
from pqrnn_tf.teacher import scoring
from pqrnn_tf.teacher import tokenization as tok_lib

FP32_FILE = "teacher.fp32.onnx"
INT8_FILE = "teacher.int8.onnx"
REPORT_FILE = "report.json"
OPSET = 17


def dev_examples(model_dir: str) -> list:
  """The dev data the teacher was trained with (its config.json names it)."""
  path = os.path.join(model_dir, scoring.CONFIG_FILE)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{model_dir}: no {scoring.CONFIG_FILE}; not a teacher run")
  with open(path, encoding="utf-8") as f:
    data = json.load(f).get("data") or {}
  if data.get("dataset") == "atis":
    return readers.read_atis("dev")
  if data.get("eval_file"):
    return readers.read_examples(data["eval_file"])
  raise ValueError(f"{path}: names no dev data (dataset or eval_file) to verify the export on")


def export_fp32(loaded, path: str, opset: int = OPSET) -> None:
  """torch.onnx.export (TorchScript exporter) of a :class:`pqrnn_tf.teacher.model.Loaded`,
  with dynamic batch and sequence axes."""
  import torch  # pylint: disable=g-import-not-at-top
  batch = tok_lib.encode(loaded.tokenizer, ["book a flight", "what is the cheapest fare "
                                              "from boston to denver tomorrow"],
                           loaded.max_length)
  args = (torch.from_numpy(batch.input_ids), torch.from_numpy(batch.attention_mask))
  loaded.model.eval()
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # tracer warnings about Python control flow
    torch.onnx.export(
        loaded.model, args, path, input_names=["input_ids", "attention_mask"],
        output_names=["intent_logits", "slot_logits"],
        dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                      "attention_mask": {0: "batch", 1: "sequence"},
                      "intent_logits": {0: "batch"},
                      "slot_logits": {0: "batch", 1: "sequence"}},
        opset_version=opset, do_constant_folding=True, dynamo=False)


def quantize_int8(fp32_path: str, int8_path: str) -> None:
  """Dynamic int8 quantization (weights int8, activations quantized at run time)."""
  from onnxruntime.quantization import QuantType, quantize_dynamic  # pylint: disable=g-import-not-at-top
  quantize_dynamic(fp32_path, int8_path, weight_type=QuantType.QInt8)


def compare(reference: tuple, candidate: tuple, examples: list,
            predictor: predictor_lib.TeacherPredictor) -> dict:
  """Agreement of a candidate's logits with the reference's, and the candidate's dev metrics."""
  ref_intent, ref_slots = reference
  intent, slots = candidate
  ref_tags = np.concatenate([np.argmax(s, -1) for s in ref_slots])
  tags = np.concatenate([np.argmax(s, -1) for s in slots])
  return {
      "intent_agreement": float(np.mean(np.argmax(intent, -1) == np.argmax(ref_intent, -1))),
      "tag_agreement": float(np.mean(tags == ref_tags)),
      "max_abs_intent_logit_diff": float(np.max(np.abs(intent - ref_intent))),
      "max_abs_slot_logit_diff": float(max(np.max(np.abs(a - b)) for a, b in
                                           zip(slots, ref_slots))),
      "dev": metrics.score_examples(examples, *predictor_lib.decode(
          predictor.intent_labels, predictor.tag_labels, intent, slots)),
  }


def export(model_dir: str, output_dir: str, num_threads: int = 2, batch_size: int = 32,
           min_agreement: float = 0.95, examples: list | None = None) -> dict:
  """Exports, quantizes, verifies on dev; writes and returns the report.

  Raises ValueError if either model's dev intent agreement with PyTorch is
  below `min_agreement` (the files and report are written first).
  """
  import torch  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.teacher import model as model_lib  # pylint: disable=g-import-not-at-top
  torch.set_num_threads(num_threads)
  examples = dev_examples(model_dir) if examples is None else examples
  subdir = predictor_lib.model_subdir(model_dir)
  os.makedirs(output_dir, exist_ok=True)
  fp32_path = os.path.join(output_dir, FP32_FILE)
  int8_path = os.path.join(output_dir, INT8_FILE)
  print(f"Exporting {subdir} to {fp32_path}", flush=True)
  export_fp32(model_lib.load(subdir, attn_implementation="eager"), fp32_path)
  print(f"Quantizing to {int8_path}", flush=True)
  quantize_int8(fp32_path, int8_path)
  encoder_dir = os.path.join(subdir, tok_lib.ENCODER_SUBDIR)
  for name in os.listdir(encoder_dir):
    if name.startswith(("tokenizer", "vocab", "special_tokens")):
      shutil.copy(os.path.join(encoder_dir, name), output_dir)
  shutil.copy(os.path.join(subdir, tok_lib.LABELS_FILE), output_dir)

  texts = [e.text for e in examples]
  print(f"Verifying on {len(texts)} dev texts", flush=True)
  torch_predictor = predictor_lib.load_torch(model_dir, num_threads=num_threads)
  reference = predictor_lib.predict_all(torch_predictor, texts, batch_size)[:2]
  report = {"num_examples": len(texts),
            "pytorch": {"dev": metrics.score_examples(examples, *predictor_lib.decode(
                torch_predictor.intent_labels, torch_predictor.tag_labels, *reference))},
            "sizes_bytes": {"pytorch_model_dir": _dir_bytes(subdir)}}
  for name, path in (("onnx_fp32", fp32_path), ("onnx_int8", int8_path)):
    p = predictor_lib.load_onnx(path, output_dir, num_threads=num_threads)
    report[name] = compare(reference, predictor_lib.predict_all(p, texts, batch_size)[:2],
                           examples, p)
    report["sizes_bytes"][name] = os.path.getsize(path)
  with open(os.path.join(output_dir, REPORT_FILE), "w", encoding="utf-8") as f:
    json.dump(report, f, indent=2)
    f.write("\n")
  for name in ("onnx_fp32", "onnx_int8"):
    if report[name]["intent_agreement"] < min_agreement:
      raise ValueError(f"{name}: dev intent agreement with PyTorch "
                       f"{report[name]['intent_agreement']:.4f} < {min_agreement} "
                       f"(see {os.path.join(output_dir, REPORT_FILE)})")
  return report


def _dir_bytes(path: str) -> int:
  return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path)
             for f in files)
