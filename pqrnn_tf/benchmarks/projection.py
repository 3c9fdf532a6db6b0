r"""Single-thread throughput of the projection op against a stock TF pipeline.

Measures, in one process and on real ATIS sentences:

* ``pqrnn_tf_op``: our TF op (``pqrnn_tf.ops.sequence_string_projection``),
  eager and inside a ``tf.function``, at each ``--batch_sizes`` (sentences per
  call).
* ``stock_tf``: an equivalent pipeline built only from stock TF ops
  (:class:`StockProjection`, see its docstring for exactly what it computes), in
  the same two settings, interleaved with ours repeat by repeat so that both
  see the same machine load.
* ``pqrnn_tflite``: our TFLite custom op run by LiteRT, in a model holding only
  the projection (string in -> features out), one sentence per ``invoke``.

Each throughput is the median over ``--repeats`` timed passes over the whole
data set (wall clock); the ours/stock ratio is the median of the per-repeat
ratios (paired measurements: all variants are timed in every repeat). Because
the machine may be shared, each row also has the median over all calls of the
per-call µs per sentence, which ignores calls hit by preemption. Everything runs on one thread: TF intra-/inter-op parallelism 1
(set before TF executes anything) and LiteRT ``num_threads=1``.

Two data sets are used: the ATIS ``--split`` sentences as they are, and
``--tokens_per_sentence``-token sentences made by concatenating the same
sentences' tokens and cutting the stream into pieces of exactly that length.

This is a benchmark, not a test: it prints a Markdown table and writes
``projection.json`` (all numbers) and ``projection.md`` (the table) to
``--output_dir``. ``--quick`` is a smoke run with few iterations.

  python -m pqrnn_tf.benchmarks.projection                 # full run (~1 minute)
  python -m pqrnn_tf.benchmarks.projection --quick
"""
from __future__ import annotations

import dataclasses
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

import pqrnn_tf  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TF is imported)
from absl import app
from absl import flags
from absl import logging
import numpy as np
import tensorflow as tf

from pqrnn_tf import lite
from pqrnn_tf.benchmarks import provenance
from pqrnn_tf import ops
from pqrnn_tf.data.readers import read_atis

FLAGS = flags.FLAGS
flags.DEFINE_integer("feature_size", 512, "Projection features per token.")
flags.DEFINE_list("batch_sizes", ["1", "64", "256"],
                  "Sentences per call for the TF op and the stock pipeline.")
flags.DEFINE_integer("repeats", 7, "Timed passes over each data set.")
flags.DEFINE_integer("tflite_invokes", 2000,
                     "Individually timed LiteRT invokes per data set (>= 1000 "
                     "for a meaningful median).")
flags.DEFINE_enum("split", "test", ["train", "dev", "test"], "ATIS split.")
flags.DEFINE_integer("tokens_per_sentence", 20,
                     "Length of the fixed-length sentences made from ATIS.")
flags.DEFINE_string("output_dir", "out/benchmarks",
                    "Directory for projection.json and projection.md.")
flags.DEFINE_boolean("quick", False,
                     "Smoke run: a few sentences, 2 repeats, 100 invokes.")

OURS = "pqrnn_tf_op"
STOCK = "stock_tf"
TFLITE = "pqrnn_tflite"
CALL_OVERHEAD = "tf.identity"  # Reference: the cost of calling a tf.function.
EAGER = "eager"
FUNCTION = "tf.function"
LITERT = "litert"

#: Goals this benchmark reports on (not asserted).
TFLITE_TARGET_US = 10.0
SPEEDUP_TARGET = 5.0

QUICK_SENTENCES = 96
QUICK_REPEATS = 2
QUICK_INVOKES = 100


@dataclasses.dataclass(frozen=True)
class Config:
  feature_size: int = 512
  batch_sizes: tuple[int, ...] = (1, 64, 256)
  repeats: int = 7
  tflite_invokes: int = 2000
  split: str = "test"
  tokens_per_sentence: int = 20
  quick: bool = False

  @classmethod
  def from_flags(cls) -> "Config":
    quick = FLAGS.quick
    return cls(
        feature_size=FLAGS.feature_size,
        batch_sizes=tuple(int(b) for b in FLAGS.batch_sizes),
        repeats=QUICK_REPEATS if quick else FLAGS.repeats,
        tflite_invokes=QUICK_INVOKES if quick else FLAGS.tflite_invokes,
        split=FLAGS.split,
        tokens_per_sentence=FLAGS.tokens_per_sentence,
        quick=quick)


# ----------------------------------------------------------------------------- setup


def configure_single_thread() -> dict:
  """Pins TF to one intra-op and one inter-op thread; reports what is in effect.

  TF only accepts this before its runtime is initialized (the first op). When
  called later (say, in a test process that already ran TF) the settings cannot
  change; `single_thread` in the result then says whether they happen to be 1.
  """
  note = "set"
  try:
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
  except RuntimeError as e:  # TF already initialized.
    note = f"could not set: {e}"
  intra = tf.config.threading.get_intra_op_parallelism_threads()
  inter = tf.config.threading.get_inter_op_parallelism_threads()
  return {"intra_op_threads": intra, "inter_op_threads": inter,
          "single_thread": intra == 1 and inter == 1, "note": note}


def load_atis_texts(split: str) -> list[str]:
  """ATIS sentences of `split`."""
  return [example.text for example in read_atis(split)]


def fixed_length_sentences(texts: Sequence[str], num_tokens: int) -> list[str]:
  """Concatenates the texts' tokens and cuts them into `num_tokens`-token sentences.

  The incomplete tail is dropped, so every sentence has exactly `num_tokens`
  whitespace-separated tokens.
  """
  tokens = " ".join(texts).split()
  return [" ".join(tokens[i:i + num_tokens])
          for i in range(0, len(tokens) - num_tokens + 1, num_tokens)]


def dataset_stats(texts: Sequence[str]) -> dict:
  tokens = [len(t.split()) for t in texts]
  return {"sentences": len(texts),
          "bytes": sum(len(t.encode("utf-8")) for t in texts),
          "tokens": sum(tokens),
          "mean_tokens": sum(tokens) / len(texts),
          "max_tokens": max(tokens)}


# ----------------------------------------------------------------------------- the pipelines


def _mix64(x: tf.Tensor) -> tf.Tensor:
  """splitmix64 finalizer on a uint64 tensor (TF's uint64 ops wrap mod 2^64)."""
  def shift_xor(v, s):
    return tf.bitwise.bitwise_xor(v, tf.bitwise.right_shift(v, tf.constant(s, tf.uint64)))
  x = shift_xor(x, 30) * tf.constant(0xBF58476D1CE4E5B9, tf.uint64)
  x = shift_xor(x, 27) * tf.constant(0x94D049BB133111EB, tf.uint64)
  return shift_xor(x, 31)


class StockProjection:
  """The stock TF baseline: the same kind of features, from stock TF ops only.

  For `texts` (string `[batch]`) it computes:

  1. `tf.strings.lower(texts, encoding="utf-8")` (Unicode lowercasing, like our
     op's default `lowercase=True`);
  2. `tf.strings.split(...)`: whitespace tokenization, a RaggedTensor
     `[batch, (tokens)]` (no CJK splitting, separators or BOS/EOS: our op's
     defaults give the same tokens on whitespace-separated text such as ATIS);
  3. `tf.strings.to_hash_bucket_fast(tokens, 2**63 - 1)`: a 63-bit FarmHash
     Fingerprint64 key per token (our op: FNV-1a64 + splitmix64);
  4. `ceil(feature_size / 32)` 64-bit feature words per token,
     `w_j = mix64(key + (j + 1) * 0x9E3779B97F4A7C15)`, in uint64 TF ops (the
     same construction as custom_ops/README.md section 6);
  5. ternary expansion: the words are bitcast to bytes and each byte is looked up
     (`tf.gather`) in a constant `[256, 4]` float32 table mapping its four 2-bit
     fields to 0 -> 0, 1 -> +1, 2 -> -1, 3 -> 0 (so P(0) = 1/2, P(+-1) = 1/4),
     giving `[tokens, feature_size]`;
  6. `RaggedTensor.to_tensor()`: dense zero-padded float32
     `[batch, max_len, feature_size]`, plus `sequence_length = row_lengths()` int32.

  So it has our op's output shape, dtype and value distribution; the values
  differ only because the token hash differs. It is written to be fast: one
  string hash per token (not one per feature), integer hash arithmetic on
  `feature_size / 32` words instead of per-feature work, a single gather
  producing 4 features per index, expansion on the flat tokens before padding,
  and constants built once. (Alternatives we timed were no faster: padding
  before hashing or before the gather, a 65536-entry table over 16-bit chunks,
  shift/mask/cast expansion, `tf.scatter_nd` instead of `to_tensor`.)
  """

  def __init__(self, feature_size: int):
    self.feature_size = feature_size
    self.num_words = (feature_size + 31) // 32
    self._offsets = tf.constant(
        [((j + 1) * 0x9E3779B97F4A7C15) % 2**64 for j in range(self.num_words)],
        tf.uint64)
    byte = np.arange(256)[:, None] >> (2 * np.arange(4))[None, :]
    self._table = tf.constant(
        np.array([0, 1, -1, 0], np.float32)[byte & 3])  # [256, 4]

  def __call__(self, texts: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    tokens = tf.strings.split(tf.strings.lower(texts, encoding="utf-8"))
    keys = tf.strings.to_hash_bucket_fast(tokens.flat_values, 2**63 - 1)
    words = _mix64(tf.bitcast(keys, tf.uint64)[:, None] + self._offsets)
    bytes_ = tf.reshape(tf.bitcast(words, tf.uint8), [-1, self.num_words * 8])
    features = tf.reshape(tf.gather(self._table, tf.cast(bytes_, tf.int32)),
                          [-1, self.num_words * 32])
    if self.num_words * 32 != self.feature_size:
      features = features[:, :self.feature_size]
    dense = tokens.with_flat_values(features).to_tensor()
    return dense, tf.cast(tokens.row_lengths(), tf.int32)


def ours_projection(feature_size: int) -> Callable:
  def project(texts):
    return ops.sequence_string_projection(texts, feature_size=feature_size)
  return project


def in_function(fn: Callable) -> Callable:
  return tf.function(fn, input_signature=[tf.TensorSpec([None], tf.string)])


def projection_tflite_model(feature_size: int) -> bytes:
  """A TFLite model holding only the projection: string[batch] -> features."""
  return lite.projection_model(feature_size=feature_size)


# ----------------------------------------------------------------------------- timing


#: One timed pass: (wall seconds, process CPU seconds, per-call µs per sentence).
Timing = tuple[float, float, list[float]]


def _timed(one_pass: Callable[[], list[float]]) -> Timing:
  """Times one pass over a data set, GC paused.

  `one_pass` returns each call's µs per sentence; their median is robust to the
  preemptions a loaded machine inflicts on whole-pass times.
  """
  gc_was_enabled = gc.isenabled()
  gc.disable()
  try:
    wall, cpu = time.perf_counter(), time.process_time()
    per_call = one_pass()
    return time.perf_counter() - wall, time.process_time() - cpu, per_call
  finally:
    if gc_was_enabled:
      gc.enable()


def _timed_calls(fn: Callable, inputs: Sequence, sizes: Sequence[int]) -> list[float]:
  per_call = []
  for x, n in zip(inputs, sizes):
    start = time.perf_counter_ns()
    fn(x)
    per_call.append((time.perf_counter_ns() - start) / 1e3 / n)
  return per_call


def _throughput(timings: Sequence[Timing], stats: dict) -> dict:
  wall = [t[0] for t in timings]
  sps = [stats["sentences"] / w for w in wall]
  median_sps = statistics.median(sps)
  return {"sentences_per_s": median_sps,
          "mb_per_s": statistics.median(stats["bytes"] / w / 1e6 for w in wall),
          "us_per_sentence": 1e6 / median_sps,
          "median_call_us_per_sentence": statistics.median(
              us for t in timings for us in t[2]),
          "sentences_per_cpu_s": statistics.median(
              stats["sentences"] / max(t[1], 1e-9) for t in timings),
          "repeats_sentences_per_s": sps}


def benchmark_tf(texts: Sequence[str], stats: dict, dataset: str,
                 config: Config) -> tuple[list[dict], list[dict], list[dict]]:
  """Ours vs stock, eager and in a tf.function, at each batch size.

  For each batch size, all variants are timed in every repeat (order reversed
  on odd repeats), so every ratio is a median of paired per-repeat ratios. A
  `tf.identity` tf.function is timed alongside, as a reference for the fixed
  cost of calling a tf.function.

  Returns:
    (rows, same-mode ratios, best-mode ratios).
  """
  stock = StockProjection(config.feature_size)
  ours = ours_projection(config.feature_size)
  variants = {
      (OURS, EAGER): ours,
      (STOCK, EAGER): stock,
      (OURS, FUNCTION): in_function(ours),
      (STOCK, FUNCTION): in_function(stock),
      (CALL_OVERHEAD, FUNCTION): in_function(tf.identity),
  }
  names = list(variants)
  rows, ratios, best = [], [], []
  for batch_size in config.batch_sizes:
    starts = range(0, len(texts), batch_size)
    batches = [tf.constant(texts[i:i + batch_size]) for i in starts]
    sizes = [len(texts[i:i + batch_size]) for i in starts]

    for name in names:  # Warm-up: traces functions, warms the allocator.
      _timed_calls(variants[name], batches, sizes)
    timings = {name: [] for name in names}
    for r in range(config.repeats):
      for name in (names if r % 2 == 0 else names[::-1]):
        timings[name].append(_timed(
            lambda f=variants[name]: _timed_calls(f, batches, sizes)))
    by_name = {}
    for (impl, mode) in names:
      by_name[impl, mode] = {"dataset": dataset, "impl": impl, "mode": mode,
                             "batch_size": batch_size,
                             **_throughput(timings[impl, mode], stats)}
      rows.append(by_name[impl, mode])

    def paired(ours_key, stock_key, index):
      return [s[index] / max(o[index], 1e-9)
              for o, s in zip(timings[ours_key], timings[stock_key])]

    for mode in (EAGER, FUNCTION):
      wall = paired((OURS, mode), (STOCK, mode), 0)
      ratios.append({"dataset": dataset, "mode": mode, "batch_size": batch_size,
                     "ours_over_stock": statistics.median(wall),
                     "ours_over_stock_cpu_time": statistics.median(
                         paired((OURS, mode), (STOCK, mode), 1)),
                     "ours_over_stock_median_call": (
                         by_name[STOCK, mode]["median_call_us_per_sentence"] /
                         by_name[OURS, mode]["median_call_us_per_sentence"]),
                     "repeats_ours_over_stock": wall})
    # Each side in its fastest mode: what a user of each would pick.
    ours_mode = max((EAGER, FUNCTION),
                    key=lambda m: by_name[OURS, m]["sentences_per_s"])
    stock_mode = max((EAGER, FUNCTION),
                     key=lambda m: by_name[STOCK, m]["sentences_per_s"])
    best.append({"dataset": dataset, "batch_size": batch_size,
                 "ours_mode": ours_mode, "stock_mode": stock_mode,
                 "ours_over_stock": statistics.median(
                     paired((OURS, ours_mode), (STOCK, stock_mode), 0))})
  return rows, ratios, best


def benchmark_tflite(model_path: str, texts: Sequence[str], stats: dict,
                     dataset: str, config: Config) -> tuple[dict, dict]:
  """LiteRT, batch 1: whole-set throughput and median µs per invoke."""
  interpreter = lite.load_interpreter(model_path, num_threads=1)
  index = interpreter.get_input_details()[0]["index"]
  interpreter.resize_tensor_input(index, [1])
  interpreter.allocate_tensors()
  inputs = [np.array([t.encode("utf-8")], dtype=object) for t in texts]

  def set_and_invoke(x):
    interpreter.set_tensor(index, x)
    interpreter.invoke()

  def one_pass():
    return _timed_calls(set_and_invoke, inputs, [1] * len(inputs))

  one_pass()  # Warm-up.
  timings = [_timed(one_pass) for _ in range(config.repeats)]
  row = {"dataset": dataset, "impl": TFLITE, "mode": LITERT, "batch_size": 1,
         **_throughput(timings, stats),
         "timed": "set_tensor + invoke per sentence, from Python"}

  invoke_ns = []
  gc.disable()
  try:
    for k in range(config.tflite_invokes):
      interpreter.set_tensor(index, inputs[k % len(inputs)])
      start = time.perf_counter_ns()
      interpreter.invoke()
      invoke_ns.append(time.perf_counter_ns() - start)
  finally:
    gc.enable()
  us = np.array(invoke_ns) / 1e3
  latency = {"dataset": dataset, "invokes": len(invoke_ns),
             "median_us_per_invoke": float(np.median(us)),
             "p10_us": float(np.percentile(us, 10)),
             "p90_us": float(np.percentile(us, 90)),
             "mean_tokens": stats["mean_tokens"],
             "timed": "interpreter.invoke() only (includes its Python call)"}
  return row, latency


# ----------------------------------------------------------------------------- checks


def sanity_checks(texts: Sequence[str], model_path: str, feature_size: int) -> dict:
  """Cheap checks that the timed pipelines compute what the table says."""
  sample = list(texts[:64])
  ours_f, ours_len = ours_projection(feature_size)(tf.constant(sample))
  stock_f, stock_len = in_function(StockProjection(feature_size))(tf.constant(sample))
  stock_values = stock_f.numpy()
  valid = np.arange(stock_values.shape[1])[None, :] < stock_len.numpy()[:, None]
  tokens = stock_values[valid]
  interpreter = lite.load_interpreter(model_path, num_threads=1)
  runner = interpreter.get_signature_runner()
  tflite_equal = True
  for i, text in enumerate(sample[:16]):
    out = runner(text=np.array([text.encode("utf-8")], dtype=object))
    n = int(ours_len[i])
    tflite_equal &= bool(out["sequence_length"][0] == n) and np.array_equal(
        out["features"][0, :n], ours_f.numpy()[i, :n])
  return {
      "tflite_equals_tf_op": bool(tflite_equal),
      "stock_shape_equals_ours": stock_f.shape == ours_f.shape,
      "stock_lengths_equal_ours": bool(np.array_equal(stock_len, ours_len)),
      "stock_fraction_zero": float(np.mean(tokens == 0)),
      "stock_fraction_plus_one": float(np.mean(tokens == 1)),
      "stock_fraction_minus_one": float(np.mean(tokens == -1)),
      "ours_fraction_zero": float(np.mean(
          ours_f.numpy()[np.arange(ours_f.shape[1])[None, :]
                         < ours_len.numpy()[:, None]] == 0)),
  }


# ----------------------------------------------------------------------------- driver


def environment() -> dict:
  try:
    from importlib.metadata import version  # pylint: disable=g-import-not-at-top
    litert = version("ai-edge-litert")
  except Exception:  # pylint: disable=broad-except
    litert = None
  return {"tensorflow": tf.__version__, "ai_edge_litert": litert,
          "python": sys.version.split()[0], "platform": platform.platform(),
          "cpu_count": os.cpu_count(),
          "load_average_before": list(os.getloadavg())}


def goals(ratios: Sequence[dict], latencies: Sequence[dict],
          fixed_dataset: str) -> dict:
  fixed = [l for l in latencies if l["dataset"] == fixed_dataset]
  tflite_us = fixed[0]["median_us_per_invoke"] if fixed else None
  per_setting = {f'{r["dataset"]}/{r["mode"]}/batch{r["batch_size"]}':
                 r["ours_over_stock"] for r in ratios}
  function_ratios = [r["ours_over_stock"] for r in ratios if r["mode"] == FUNCTION]
  return {
      "tflite_us_per_fixed_length_sentence": {
          "dataset": fixed_dataset, "value": tflite_us,
          "target_max": TFLITE_TARGET_US,
          "met": tflite_us is not None and tflite_us <= TFLITE_TARGET_US},
      "tf_op_speedup_over_stock": {
          "target_min": SPEEDUP_TARGET, "per_setting": per_setting,
          "min_in_tf_function": min(function_ratios) if function_ratios else None,
          "met_in_every_setting": all(v >= SPEEDUP_TARGET
                                      for v in per_setting.values()),
          "met_in_tf_function": bool(function_ratios) and all(
              v >= SPEEDUP_TARGET for v in function_ratios)},
  }


def run_benchmark(config: Config) -> dict:
  """Runs everything; returns the JSON-ready results."""
  threading = configure_single_thread()  # Before TF runs anything.
  env = environment()
  texts = load_atis_texts(config.split)
  if config.quick:
    texts = texts[:QUICK_SENTENCES]
  fixed_name = f"atis_{config.split}_{config.tokens_per_sentence}tok"
  datasets = {f"atis_{config.split}": texts,
              fixed_name: fixed_length_sentences(texts, config.tokens_per_sentence)}
  stats = {name: dataset_stats(t) for name, t in datasets.items()}

  with tempfile.TemporaryDirectory() as tmp:
    model_path = os.path.join(tmp, "projection.tflite")
    with open(model_path, "wb") as f:
      f.write(projection_tflite_model(config.feature_size))
    checks = sanity_checks(texts, model_path, config.feature_size)
    rows, ratios, best, latencies = [], [], [], []
    for name, data in datasets.items():
      tf_rows, tf_ratios, tf_best = benchmark_tf(data, stats[name], name, config)
      best += tf_best
      tflite_row, latency = benchmark_tflite(model_path, data, stats[name], name,
                                             config)
      rows += tf_rows + [tflite_row]
      ratios += tf_ratios
      latencies.append(latency)

  return {
      "config": dataclasses.asdict(config),
      "environment": {**env, **threading},
      "datasets": stats,
      "stock_pipeline": " ".join(StockProjection.__doc__.split()),
      "results": rows,
      "ratios": ratios,
      "best_mode_ratios": best,
      "tflite_latency": latencies,
      "goals": goals(ratios, latencies, fixed_name),
      "checks": checks,
  }


def markdown_table(results: dict) -> str:
  ratio = {(r["dataset"], r["mode"], r["batch_size"]): r
           for r in results["ratios"]}
  lines = [
      "| data set | implementation | mode | batch | sentences/s | MB/s "
      "| µs/sentence | µs/sentence, median call | ours/stock "
      "| ours/stock, median call |",
      "|---|---|---|--:|--:|--:|--:|--:|--:|--:|",
  ]
  for r in results["results"]:
    paired = ratio.get((r["dataset"], r["mode"], r["batch_size"]))
    shown = (f'**{paired["ours_over_stock"]:.2f}x** | '
             f'{paired["ours_over_stock_median_call"]:.2f}x'
             if r["impl"] == OURS else " | ")
    impl = ("(call overhead: empty tf.function)" if r["impl"] == CALL_OVERHEAD
            else r["impl"])
    lines.append(
        f'| {r["dataset"]} | {impl} | {r["mode"]} | {r["batch_size"]} '
        f'| {r["sentences_per_s"]:,.0f} | {r["mb_per_s"]:.2f} '
        f'| {r["us_per_sentence"]:.1f} | {r["median_call_us_per_sentence"]:.1f} '
        f'| {shown} |')
  lines += ["", "Each side in its fastest mode (paired): " + "; ".join(
      f'{b["dataset"]} batch {b["batch_size"]}: {b["ours_over_stock"]:.2f}x '
      f'(ours {b["ours_mode"]} vs stock {b["stock_mode"]})'
      for b in results["best_mode_ratios"]) + "."]
  lines += [
      "",
      "| data set | LiteRT invokes | mean tokens | median µs/invoke | p10 µs | p90 µs |",
      "|---|--:|--:|--:|--:|--:|",
  ]
  for l in results["tflite_latency"]:
    lines.append(
        f'| {l["dataset"]} | {l["invokes"]} | {l["mean_tokens"]:.1f} '
        f'| {l["median_us_per_invoke"]:.2f} | {l["p10_us"]:.2f} | {l["p90_us"]:.2f} |')
  lines += [
      "",
      "sentences/s, MB/s (UTF-8 input) and µs/sentence: median of the whole-set "
      "passes; median call: median over every call of its µs per sentence; "
      "ours/stock: same mode and batch, median of per-repeat paired ratios "
      "(median call: ratio of the median-call columns).",
  ]
  g = results["goals"]
  t = g["tflite_us_per_fixed_length_sentence"]
  s = g["tf_op_speedup_over_stock"]
  env = results["environment"]
  lines += [
      "",
      f'feature_size={results["config"]["feature_size"]}, '
      f'{results["config"]["repeats"]} repeats (median), '
      f'TF threads intra={env["intra_op_threads"]} inter={env["inter_op_threads"]}, '
      f'LiteRT num_threads=1, load average before {env["load_average_before"][0]:.2f}.',
      f'Goal TFLite ≤ {t["target_max"]:g} µs per {t["dataset"]} sentence: '
      f'{t["value"]:.2f} µs ({"met" if t["met"] else "NOT met"}).',
      f'Goal TF op ≥ {s["target_min"]:g}x stock: min in tf.function '
      f'{s["min_in_tf_function"]:.2f}x ({"met" if s["met_in_tf_function"] else "NOT met"} '
      f'in tf.function; {"met" if s["met_in_every_setting"] else "NOT met"} in every setting).',
  ]
  return "\n".join(lines)


def write_results(results: dict, output_dir: str) -> Path:
  out = Path(output_dir)
  out.mkdir(parents=True, exist_ok=True)
  path = out / "projection.json"
  measured = {provenance.KEY: provenance.measured("python -m pqrnn_tf.benchmarks.projection")}
  path.write_text(json.dumps({**measured, **results}, indent=2) + "\n", encoding="utf-8")
  (out / "projection.md").write_text(markdown_table(results) + "\n",
                                     encoding="utf-8")
  return path


def main(argv):
  del argv  # Unused.
  logging.set_verbosity(logging.WARNING)  # The converter's INFO lines.
  results = run_benchmark(Config.from_flags())
  print(markdown_table(results))
  print(f"\nWrote {write_results(results, FLAGS.output_dir)}")


if __name__ == "__main__":
  app.run(main)
