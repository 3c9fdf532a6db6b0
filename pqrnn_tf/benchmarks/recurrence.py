r"""How the QRNN recurrence should run in TFLite: custom op vs unrolled ops.

  python -m pqrnn_tf.benchmarks.recurrence --model_dir=runs/atis --output_dir=out/benchmarks

For one model trained by `pqrnn-train` (QRNN `implementation="op"`), compares
three exports of the fo-pooling recurrence:

* ``op``: the trained model as `pqrnn-export` converts it. Each QRNN layer is
  a matrix product and the `PqrnnQrnnPooling` custom op (gate sums,
  activations, fo-pooling), float even in the int8 model, over each
  sentence's valid steps only (cost follows length).
* ``unrolled_L``: the same layers and weights rebuilt for a fixed length of `L`
  steps (:func:`fixed_length_model`): the projection output is padded to `L`
  steps, with the mask of the true lengths, and the QRNN layers use
  `implementation="unrolled"` (one `MUL` + `ADD` per step and direction, all
  builtin, so all int8 in the int8 model). Sentences longer than `L` tokens are
  **truncated** to their first `L` tokens: their intent and the tags of their
  first `L` tokens may change, and tags past `L` are missing (counted as
  disagreements).
* ``padded_op_L`` (control, `--padded_op`): padded to `L` steps like
  ``unrolled_L`` but fo-pooling still the op. Every layer but the recurrence
  then runs over `L` steps in both, so ``unrolled_L`` vs ``padded_op_L`` is the
  cost of the recurrence form alone, and ``padded_op_L`` vs ``op`` the cost of
  padding.
* ``scan``: `implementation="scan"` (a `WHILE` loop). Only its conversion is
  attempted and the converter's error recorded.

Steps: (1) in TF, each `unrolled_L` model must equal the `op` model on the ATIS
dev sentences of at most `L` tokens (max abs difference of intent and slot
probabilities); (2) both are converted with `export.converter.convert`
("none" and "int8", int8 calibrated on the first `--num_calibration` ATIS train
sentences as `pqrnn-export` does); (3) in LiteRT, one thread, batch 1, every
variant is timed on the same ATIS test sentences of 8, 16, 32 tokens,
interleaved call by call (the machine may be shared), and each TFLite variant
is compared with the Keras `op` model on ATIS dev (intent and slot tag
agreement, max abs probability difference); (4) prints a Markdown table and
writes `recurrence.json` and `recurrence.md` to `--output_dir`.

ATIS test has no 32-token sentence (at most 30), so buckets that the test set
cannot fill are topped up with real test sentences joined (the buckets of
pqrnn-benchmark, `pqrnn_tf/benchmarks/buckets.py`; the JSON records how many).
"""
from __future__ import annotations

import json
import os
import platform
import time
import traceback
from importlib import metadata
from pathlib import Path
from typing import Callable, Sequence

import pqrnn_tf  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TF is imported)
from absl import app, flags
import numpy as np
import tensorflow as tf
import tf_keras as keras

from pqrnn_tf import lite, ops, run_dir
from pqrnn_tf.benchmarks import provenance
from pqrnn_tf.data import readers
from pqrnn_tf.data.examples import Example, LabelVocab
from pqrnn_tf.export import converter
from pqrnn_tf.layers.projection import Projection
from pqrnn_tf.layers.qrnn import QRNN
from pqrnn_tf.models import INTENT_OUTPUT, SLOTS_OUTPUT

from . import buckets, latency

FLAGS = flags.FLAGS
QUANTIZATIONS = ("none", "int8")
# Ops shown in the table; the JSON has every op.
SHOWN_OPS = ("PqrnnQrnnPooling", "PqrnnFoPooling", "MUL", "ADD", "UNPACK", "PACK", "QUANTIZE", "DEQUANTIZE")


def define_flags() -> None:
  flags.DEFINE_string("model_dir", None, "A directory written by pqrnn-train.")
  flags.DEFINE_string("output_dir", "out/benchmarks", "Where the JSON, Markdown and "
                      ".tflite files go.")
  flags.DEFINE_list("lengths", ["16", "32", "64"], "Fixed lengths L of the unrolled variants.")
  flags.DEFINE_list("buckets", ["8", "16", "32"], "Token counts of the latency buckets.")
  flags.DEFINE_integer("per_bucket", 40, "Sentences per latency bucket.")
  flags.DEFINE_integer("repeats", 10, "Timed passes over each bucket (every variant, "
                       "every sentence, interleaved).")
  flags.DEFINE_integer("warmup", 20, "Untimed calls per variant and bucket.")
  flags.DEFINE_integer("num_calibration", 300, "ATIS train sentences for int8 calibration "
                       "(as pqrnn-export).")
  flags.DEFINE_bool("padded_op", True, "Also measure padded_op_L: padded to L steps like "
                    "unrolled_L, fo-pooling still the op (separates the cost of the "
                    "recurrence form from that of padding).")
  flags.DEFINE_bool("check_scan", True, "Also try to convert the scan (WHILE) form.")
  flags.mark_flags_as_required(["model_dir"])


@keras.utils.register_keras_serializable(package="pqrnn_tf_benchmarks")
class FixedLengthProjection(Projection):
  """A `Projection` whose output always has `length` steps.

  The op's features are cut to the first `length` tokens and zero-padded to
  `length`; the mask holds the true (cut) lengths, so every masked layer after
  it computes what it would on the unpadded features. A static time length is
  what `QRNN(implementation="unrolled")` needs.
  """

  def __init__(self, length: int, **kwargs):
    super().__init__(**kwargs)
    self.length = int(length)

  def call(self, inputs, training=None):
    texts = tf.reshape(inputs, [-1])
    features, lengths = ops.sequence_string_projection(
        texts, **self.op_attributes(training=bool(training)))
    features = features[:, :self.length]
    features = tf.pad(features, [[0, 0], [0, self.length - tf.shape(features)[1]], [0, 0]])
    # A reshape (not ensure_shape, which TFLite lacks) makes the length static.
    features = tf.reshape(features, [-1, self.length, self.feature_size])
    features._keras_mask = tf.sequence_mask(  # pylint: disable=protected-access
        tf.minimum(lengths, self.length), self.length)
    return features

  def compute_output_shape(self, input_shape):
    return tf.TensorShape([input_shape[0], self.length, self.feature_size])

  def get_config(self):
    return {**super().get_config(), "length": self.length}


def with_recurrence(model: keras.Model, implementation: str,
                    length: int | None = None) -> keras.Model:
  """`model` with every QRNN layer using `implementation`, the same weights.

  With `length`, the projection becomes a `FixedLengthProjection(length)`
  (needed by "unrolled"). Other layers are cloned from their configs; the
  weights are then copied in order (the clone has the same layers in the same
  order, and the projection has no weights).
  """

  def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
    config = layer.get_config()
    if isinstance(layer, QRNN):
      return QRNN.from_config({**config, "implementation": implementation})
    if isinstance(layer, Projection) and length is not None:
      return FixedLengthProjection.from_config({**config, "length": length})
    return layer.__class__.from_config(config)

  variant = keras.models.clone_model(model, clone_function=clone)
  old, new = model.weights, variant.weights
  if [w.shape for w in old] != [w.shape for w in new]:
    raise ValueError("the rebuilt model's weights do not line up with the original's")
  variant.set_weights(model.get_weights())
  return variant


def fixed_length_model(model: keras.Model, length: int) -> keras.Model:
  """`model` over `length` padded steps with unrolled fo-pooling (see above)."""
  return with_recurrence(model, "unrolled", length)


def size_breakdown(flatbuffer: bytes) -> dict:
  """Bytes of the flatbuffer spent on constant data and on tensor names.

  Names are not needed to run the model, but the int8 converter gives each
  unrolled step's tensors the joined names of all steps (quadratic in L), which
  dominates the file size of long unrolled int8 models.
  """
  from tensorflow.lite.python import schema_py_generated as schema  # pylint: disable=g-import-not-at-top
  model = schema.ModelT.InitFromPackedBuf(flatbuffer, 0)
  return {"constant_bytes": sum(len(b.data) for b in model.buffers if b.data is not None),
          "tensor_name_bytes": sum(len(t.name or b"") for g in model.subgraphs
                                   for t in g.tensors)}


def serve(model: keras.Model, texts: Sequence[str], batch_size: int = 250) -> dict:
  """`serving_module` outputs (the exported signature's) of `texts`, as numpy."""
  module = converter.serving_module(model)
  parts: list[dict] = []
  for start in range(0, len(texts), batch_size):
    out = module.serve(tf.constant(list(texts[start:start + batch_size])))
    parts.append({k: v.numpy() for k, v in out.items()})
  result = {converter.INTENT_PROBS: np.concatenate([p[converter.INTENT_PROBS] for p in parts])}
  if converter.SLOT_PROBS in parts[0]:
    result[converter.SEQUENCE_LENGTH] = np.concatenate(
        [p[converter.SEQUENCE_LENGTH] for p in parts])
    # Batches have different time lengths: keep a list of per-sentence arrays.
    result[converter.SLOT_PROBS] = [p[converter.SLOT_PROBS][i, :n]
                                    for p in parts for i, n in
                                    enumerate(p[converter.SEQUENCE_LENGTH])]
  return result


def max_abs_diff(want: dict, got: dict, rows: Sequence[int]) -> dict:
  """Max abs difference of intent and slot probabilities over `rows`; slots
  over the steps both have (a fixed-length model has at most L)."""
  if not len(rows):
    return {"intent": None, "slots": None}
  rows = list(rows)
  intent = float(np.max(np.abs(want[converter.INTENT_PROBS][rows] -
                               got[converter.INTENT_PROBS][rows])))
  slots = None
  if converter.SLOT_PROBS in want:
    diffs = []
    for i in rows:
      a, b = want[converter.SLOT_PROBS][i], got[converter.SLOT_PROBS][i]
      n = min(len(a), len(b))
      if n:
        diffs.append(float(np.max(np.abs(a[:n] - b[:n]))))
    slots = max(diffs, default=0.0)
  return {"intent": intent, "slots": slots}


def tflite_serve(path: str, texts: Sequence[str]) -> dict:
  """The same outputs as `serve`, from the TFLite model, one sentence per invoke."""
  runner = lite.load_interpreter(path).get_signature_runner()
  intent, slots, lengths = [], [], []
  for text in texts:
    out = runner(**{converter.INPUT_NAME: np.array([text.encode("utf-8")], dtype=object)})
    intent.append(out[converter.INTENT_PROBS][0])
    if converter.SLOT_PROBS in out:
      n = int(out[converter.SEQUENCE_LENGTH][0])
      lengths.append(n)
      slots.append(out[converter.SLOT_PROBS][0, :n])
  result = {converter.INTENT_PROBS: np.stack(intent)}
  if slots:
    result[converter.SLOT_PROBS] = slots
    result[converter.SEQUENCE_LENGTH] = np.array(lengths)
  return result


def decode(outputs: dict, examples: Sequence[Example], intents: LabelVocab,
           tags: LabelVocab | None) -> tuple[list[str], list[tuple[str, ...]] | None]:
  """Intent labels and tag sequences (cut to what the model tagged)."""
  pred_intents = intents.decode(np.argmax(outputs[converter.INTENT_PROBS], -1).tolist())
  if tags is None or converter.SLOT_PROBS not in outputs:
    return pred_intents, None
  pred_tags = [tuple(tags.decode(np.argmax(p, -1)[:len(e.text.split())].tolist()))
               for p, e in zip(outputs[converter.SLOT_PROBS], examples)]
  return pred_intents, pred_tags


def agreement(reference: tuple, candidate: tuple, rows: Sequence[int]) -> dict:
  """Intent agreement over `rows`, and tag agreement over every reference token
  of them (a token the candidate did not tag, i.e. past L, is a disagreement)."""
  (ref_intents, ref_tags), (intents, tags) = reference, candidate
  result = {"intent": float(np.mean([ref_intents[i] == intents[i] for i in rows]))}
  if ref_tags is not None and tags is not None:
    same = [k < len(tags[i]) and tags[i][k] == r for i in rows
            for k, r in enumerate(ref_tags[i])]
    result["tags"] = float(np.mean(same))
  return result


def time_interleaved(callers: dict[str, Callable], sentences: Sequence[str], repeats: int,
                     warmup: int) -> dict[str, np.ndarray]:
  """µs per call of each caller on each sentence, `repeats` passes.

  For each sentence every caller runs once, in an order rotated from sentence
  to sentence, so that all variants see the same load and none always runs
  first (warm caches).
  """
  inputs = [np.array([s.encode("utf-8")], dtype=object) for s in sentences]
  names = list(callers)
  for name in names:
    for i in range(warmup):
      callers[name](inputs[i % len(inputs)])
  micros: dict[str, list[float]] = {name: [] for name in names}
  clock = time.perf_counter_ns
  k = 0
  for _ in range(repeats):
    for x in inputs:
      for j in range(len(names)):
        name = names[(k + j) % len(names)]
        start = clock()
        callers[name](x)
        micros[name].append((clock() - start) / 1e3)
      k += 1
  return {name: np.array(v) for name, v in micros.items()}


def try_scan_conversion(model: keras.Model, calibration: Sequence[str]) -> dict:
  """Converts the scan (WHILE) form; returns the outcome per quantization."""
  scan = with_recurrence(model, "scan")
  result = {}
  for quantization in QUANTIZATIONS:
    try:
      flatbuffer = converter.convert(scan, quantization, calibration)
      result[quantization] = {"ok": True, "bytes": len(flatbuffer),
                              "ops": dict(converter.op_counts(flatbuffer))}
    except Exception as e:  # pylint: disable=broad-except  (recorded, not hidden)
      lines = [l.strip() for l in str(e).splitlines() if "error:" in l]
      result[quantization] = {"ok": False, "error_type": type(e).__name__,
                              "errors": list(dict.fromkeys(
                                  l[l.index("error:"):] for l in lines)) or
                              traceback.format_exception_only(e)[-1:]}
  return result


def markdown(report: dict) -> str:
  """The tables of the report."""
  buckets = [b["tokens"] for b in report["buckets"]]
  lines = [
      f"Model: `{report['model_dir']}` ({report['num_params']:,} parameters); "
      f"LiteRT {report['litert']}, 1 thread, batch 1, {report['repeats']} interleaved "
      f"passes per bucket.", "",
      "| variant | quant | bytes (weights / names) | ops | " +
      " | ".join(f"p50 µs @{n} tok" for n in buckets) + " | " +
      " | ".join(f"× op @{n}" for n in buckets) +
      " | intent agr. dev (≤ L) | tag agr. dev (≤ L) | max Δ intent prob, dev ≤ L |",
      "|---|---|---|---|" + "---|" * (2 * len(buckets)) + "---|---|---|"]
  for v in report["variants"]:
    baseline = {b["tokens"]: b["p50_us"]["op/" + v["quantization"]]
                for b in report["buckets"]}
    p50 = [b["p50_us"][v["name"]] for b in report["buckets"]]
    ops_shown = ", ".join(f"{k} {v['ops'][k]}" for k in SHOWN_OPS if v["ops"].get(k))
    trunc = [" (cut)" if v["length"] and n > v["length"] else "" for n in buckets]
    diff = v["vs_keras_op"]["max_abs_diff_within_L"]["intent"]

    def pct(key: str, v: dict = v) -> str:
      """Agreement on all dev sentences (and on those of at most L tokens)."""
      every, within = (v["vs_keras_op"][k].get(key)
                       for k in ("agreement", "agreement_within_L"))
      if every is None:
        return "–"
      return f"{100 * every:.1f}%" + (f" ({100 * within:.1f}%)" if v["length"] else "")

    lines.append(
        f"| {v['variant']} | {v['quantization']} | {v['bytes']:,} "
        f"({v['constant_bytes'] // 1000} K / {v['tensor_name_bytes'] // 1000} K) | "
        f"{sum(v['ops'].values())} ({ops_shown}) | " +
        " | ".join(f"{p:.0f}{t}" for p, t in zip(p50, trunc)) + " | " +
        " | ".join(f"{p / baseline[n]:.2f}" for p, n in zip(p50, buckets)) + " | " +
        f"{pct('intent')} | {pct('tags')} | " +
        (f"{diff:.1e} |" if diff is not None else "– |"))
  lines += ["", "TF (Keras) check, unrolled fixed-length model vs the op model on ATIS dev "
            "sentences of at most L tokens:", "",
            "| L | dev sentences ≤ L | max Δ intent prob | max Δ slot prob | dev sentences cut |",
            "|---|---|---|---|---|"]
  for row in report["tf_check"]:
    d = row["max_abs_diff_within_L"]
    lines.append(f"| {row['length']} | {row['num_within']} | {d['intent']:.1e} | "
                 f"{d['slots']:.1e} | {row['num_cut']} |")
  if "scan" in report:
    lines += ["", "scan (WHILE) conversion:"]
    for q, r in report["scan"].items():
      lines.append(f"- {q}: " + ("converted" if r["ok"] else
                                 f"{r['error_type']}: " + " / ".join(r["errors"][:2])))
  return "\n".join(lines)


def keras_variants(model: keras.Model, lengths: Sequence[int], dev_texts: Sequence[str],
                   reference_out: dict, true_lengths: np.ndarray, padded_op: bool
                   ) -> tuple[dict[str, tuple[keras.Model, int | None]], list[dict]]:
  """The Keras models to convert, {name: (model, fixed length or None)}, and
  how far each unrolled one strays from the op model in TF (`tf_check`)."""
  variants: dict[str, tuple[keras.Model, int | None]] = {"op": (model, None)}
  tf_check = []
  for length in lengths:
    fixed = fixed_length_model(model, length)
    got = serve(fixed, dev_texts)
    within = np.flatnonzero(true_lengths <= length)
    tf_check.append({
        "length": length, "num_within": int(len(within)),
        "num_cut": int(np.sum(true_lengths > length)),
        "max_abs_diff_within_L": max_abs_diff(reference_out, got, within),
        "max_abs_diff_all": max_abs_diff(reference_out, got, range(len(dev_texts)))})
    variants[f"unrolled_{length}"] = (fixed, length)
    if padded_op:
      # Control: padded to L like unrolled_L, but fo-pooling still the op
      # (which skips the padding). unrolled_L vs padded_op_L isolates the cost
      # of the recurrence form; padded_op_L vs op the cost of padding the
      # rest of the network to L steps.
      variants[f"padded_op_{length}"] = (with_recurrence(model, "op", length), length)
  return variants, tf_check


def convert_variants(variants: dict[str, tuple[keras.Model, int | None]], out_dir: Path,
                     calibration: Sequence[str], dev: Sequence, intents, tags,
                     reference: tuple, reference_out: dict, true_lengths: np.ndarray
                     ) -> tuple[list[dict], dict[str, latency.TfliteCaller]]:
  """Converts every variant in every quantization; returns a row per TFLite
  model (size, ops, agreement with the Keras op model) and a caller per model."""
  dev_texts = [e.text for e in dev]
  rows, callers = [], {}
  for variant, (keras_model, length) in variants.items():
    for quantization in QUANTIZATIONS:
      name = f"{variant}/{quantization}"
      print(f"converting {name}", flush=True)
      flatbuffer = converter.convert(keras_model, quantization, calibration)
      path = out_dir / f"{variant}_{quantization}.tflite"
      path.write_bytes(flatbuffer)
      got = tflite_serve(str(path), dev_texts)
      predicted = decode(got, dev, intents, tags)
      every = np.arange(len(dev))
      within = np.flatnonzero(true_lengths <= length) if length else every
      rows.append({
          "name": name, "variant": variant, "quantization": quantization,
          "length": length, "bytes": len(flatbuffer), **size_breakdown(flatbuffer),
          "ops": dict(sorted(converter.op_counts(flatbuffer).items())),
          "vs_keras_op": {
              "agreement": agreement(reference, predicted, every),
              "agreement_within_L": agreement(reference, predicted, within),
              "max_abs_diff_within_L": max_abs_diff(reference_out, got, within)}})
      callers[name] = latency.TfliteCaller(str(path), num_threads=1, batch_size=1)
  return rows, callers


def time_buckets(callers: dict[str, latency.TfliteCaller], texts: Sequence[str],
                 lengths: Sequence[int]) -> list[dict]:
  """Median and p90 latency of every model on each bucket of `texts`."""
  rows = []
  for bucket in buckets.make_buckets(texts, list(lengths), FLAGS.per_bucket):
    print(f"timing {bucket.length}-token bucket", flush=True)
    micros = time_interleaved(callers, bucket.sentences, FLAGS.repeats, FLAGS.warmup)
    rows.append({
        "tokens": bucket.length, "num_real": bucket.num_real,
        "num_joined": bucket.num_joined, "calls_per_variant": len(micros["op/none"]),
        "p50_us": {k: float(np.median(v)) for k, v in micros.items()},
        "p90_us": {k: float(np.percentile(v, 90)) for k, v in micros.items()}})
  return rows


def write_report(report: dict, out_dir: Path) -> None:
  table = markdown(report)
  print(table)
  (out_dir / "recurrence.md").write_text(table + "\n")
  with open(out_dir / "recurrence.json", "w") as f:
    json.dump({provenance.KEY: provenance.measured("python -m pqrnn_tf.benchmarks.recurrence"),
               **report}, f, indent=2)


def main(argv) -> None:
  del argv
  out_dir = Path(FLAGS.output_dir)
  out_dir.mkdir(parents=True, exist_ok=True)
  model, config = run_dir.load_trained(FLAGS.model_dir)
  intents, tags = config.vocabs()
  dev = readers.read_atis("dev")
  calibration = [e.text for e in readers.read_atis("train")[:FLAGS.num_calibration]]
  dev_texts = [e.text for e in dev]

  reference_out = serve(model, dev_texts)
  reference = decode(reference_out, dev, intents, tags)
  true_lengths = reference_out.get(converter.SEQUENCE_LENGTH, np.array(
      [len(t.split()) for t in dev_texts]))
  report = {"model_dir": FLAGS.model_dir, "num_params": int(model.count_params()),
            "litert": metadata.version("ai-edge-litert"), "tensorflow": tf.__version__,
            "machine": platform.machine(), "repeats": FLAGS.repeats,
            "num_dev": len(dev)}
  variants, report["tf_check"] = keras_variants(
      model, [int(n) for n in FLAGS.lengths], dev_texts, reference_out, true_lengths,
      FLAGS.padded_op)
  report["variants"], callers = convert_variants(
      variants, out_dir, calibration, dev, intents, tags, reference, reference_out,
      true_lengths)
  if FLAGS.check_scan:
    print("trying the scan form", flush=True)
    report["scan"] = try_scan_conversion(model, calibration)
  report["buckets"] = time_buckets(callers, [e.text for e in readers.read_atis("test")],
                                   [int(n) for n in FLAGS.buckets])
  write_report(report, out_dir)


if __name__ == "__main__":
  define_flags()
  app.run(main)
