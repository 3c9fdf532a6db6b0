"""pqrnn-benchmark: exported TFLite models and the teacher, side by side.

  pqrnn-benchmark --models=pqrnn_int8=out/a_int8.tflite,pqrnn_float=out/a.tflite \\
      [--teacher_dir=runs/teacher] [--output_dir=out/benchmarks]
  python -m pqrnn_tf.benchmarks.cli ...   # the same, from the repository root

For every model (each in its own process, importing only its runtime): p50 /
p90 / p99 latency at batch 1 and one thread on ATIS test sentences bucketed by
length, MACs per inference and the achieved rate, file size, peak RSS (and its
increase over the bare runtime), throughput at batch 32 on all threads,
accuracy on the full ATIS test set, and for TFLite models the ops by type and
the time of each op type (pqrnn_tf/benchmarks/op_profile.py). The peak int8 rate of one core is measured
in the same run. Writes `benchmark.md`, `benchmark.json` and `benchmark.png`
to --output_dir and prints the Markdown.

TFLite models must take string[batch] and return the outputs of
`pqrnn_tf.export.converter.serving_module`, with pqrnn-export's label files
(`<name>.intents.txt`, `<name>.slots.txt`) next to them or inside. A portable
model (`pqrnn-export --portable`) runs in the stock interpreter and gets two
rows: `<name>` (invoke alone, the projection done before the clock) and
`<name>+projection` (the TF-free projection inside the clock). Every TFLite
model's JSON row has `ops`: op counts per subgraph and what XNNPACK replaced. --teacher_dir is a
`pqrnn-teacher` model_dir; its PyTorch and ONNX-int8 deployments are timed
with the same protocol. --targets=FILE checks the results against the targets
of a JSON file (docs/benchmark/targets.json is an example); without it the
report lists none.

Flags and files that cannot be used (a --ratio_bucket that is not a bucket, an
unknown --reference, a model without labels, an unwritable --output_dir, ...)
print `pqrnn-benchmark: <problem>` and exit with status 2 before any timing.
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile

from absl import flags

from pqrnn_tf import cli_errors
from pqrnn_tf.inference import labels as labels_lib

from . import buckets as buckets_lib
from . import provenance
from . import report
from . import teacher as teacher_lib

FLAGS = flags.FLAGS
PROGRAM = "pqrnn-benchmark"
OUTPUT_STEM = "benchmark"


def define_flags() -> None:
  flags.DEFINE_list("models", None, "TFLite models as name=path (or path: the file "
                    "name is the name), in table order. A name containing 'lstm' is "
                    "checked against the faster_than_lstm target (--targets).")
  flags.DEFINE_string("teacher_dir", None, "A pqrnn-teacher model_dir: adds its "
                      "deployments' rows (ONNX files under <dir>/onnx/).")
  flags.DEFINE_list("teacher_deployments", list(_DEFAULTS.teacher_deployments),
                    "Teacher deployments to time.")
  flags.DEFINE_string("output_dir", "out/benchmarks", "Where the table, JSON and plot go.")
  flags.DEFINE_list("buckets", [str(n) for n in _DEFAULTS.lengths],
                    "Sentence lengths in tokens.")
  flags.DEFINE_integer("sentences_per_bucket", _DEFAULTS.sentences_per_bucket, "Distinct sentences per bucket.",
                       lower_bound=1)
  flags.DEFINE_integer("num_invokes", _DEFAULTS.num_invokes, "Timed calls per model and "
                       "bucket.", lower_bound=1)
  flags.DEFINE_integer("warmup", _DEFAULTS.warmup, "Untimed calls first, per model and bucket.",
                       lower_bound=0)
  flags.DEFINE_bool("throughput", True, "Also measure sentences/s at batch "
                    "--throughput_batch on all threads.")
  flags.DEFINE_integer("throughput_batch", _DEFAULTS.throughput_batch, "Batch size of the throughput mode.",
                       lower_bound=1)
  flags.DEFINE_integer("throughput_threads", _DEFAULTS.throughput_threads,
                       "Threads of the throughput mode (0: all cores).", lower_bound=0)
  flags.DEFINE_float("throughput_seconds", _DEFAULTS.throughput_seconds,
                     "Minimum timed seconds of the throughput mode.", lower_bound=0.0)
  flags.DEFINE_bool("profile_ops", _DEFAULTS.profile_ops, "Also list each TFLite model's ops by type "
                    "and time each op type in isolation (pqrnn_tf/benchmarks/op_profile.py), on "
                    "the first sentence of the --ratio_bucket bucket.")
  flags.DEFINE_bool("accuracy", _DEFAULTS.accuracy, "Score every model on the full ATIS test set.")
  flags.DEFINE_bool("peak_int8", True, "Measure the peak int8 rate of one core.")
  flags.DEFINE_list("peak_shape", [str(n) for n in _DEFAULTS.peak_shape],
                    "layers,units,batch of the int8 fully-connected peak model.")
  flags.DEFINE_string("reference", None, "The row the others are compared with "
                      "(default: the first model).")
  flags.DEFINE_integer("ratio_bucket", _DEFAULTS.ratio_bucket, "Bucket of the ratios, targets and plot.",
                       lower_bound=2)
  flags.DEFINE_integer("seed", _DEFAULTS.seed, "Seed of the joined long sentences.")
  flags.DEFINE_string("targets", None, "A JSON file of targets to check the results "
                      "against (report.TARGET_KEYS; docs/benchmark/targets.json is an "
                      "example). Without it, no targets are checked.")
  flags.mark_flag_as_required("models")


@dataclasses.dataclass
class Settings:
  """Everything that decides what is measured, for reuse outside the CLI."""

  lengths: tuple[int, ...] = (8, 16, 32, 64)
  sentences_per_bucket: int = 50
  num_invokes: int = 1000
  warmup: int = 100
  throughput_batch: int | None = 32  # None: no throughput mode
  throughput_threads: int = 0
  throughput_seconds: float = 2.0
  accuracy: bool = True
  profile_ops: bool = True
  peak_shape: tuple[int, int, int] | None = (3, 1024, 64)  # None: no peak
  reference: str | None = None
  ratio_bucket: int = 16
  seed: int = 0
  teacher_deployments: tuple[str, ...] = teacher_lib.DEPLOYMENTS
  teacher_factory: str | None = None  # "module:function" in place of pqrnn_tf.teacher

  def validate(self) -> "Settings":
    """Raises ValueError (naming the flag) for settings that cannot be measured."""
    if not self.lengths or any(n < 2 for n in self.lengths):
      raise ValueError(f"--buckets={','.join(map(str, self.lengths))}: give lengths of at "
                       f"least 2 tokens")
    if self.ratio_bucket not in self.lengths:
      raise ValueError(f"--ratio_bucket={self.ratio_bucket} is not one of the --buckets "
                       f"{','.join(map(str, self.lengths))}")
    for name, value, least in (("sentences_per_bucket", self.sentences_per_bucket, 1),
                               ("num_invokes", self.num_invokes, 1),
                               ("warmup", self.warmup, 0),
                               ("throughput_batch", self.throughput_batch or 1, 1),
                               ("throughput_threads", self.throughput_threads, 0)):
      if value < least:
        raise ValueError(f"--{name}={value}: must be at least {least}")
    if self.peak_shape is not None and (len(self.peak_shape) != 3
                                        or min(self.peak_shape) < 1):
      raise ValueError(f"--peak_shape={','.join(map(str, self.peak_shape))}: give "
                       f"layers,units,batch (positive)")
    unknown = sorted(set(self.teacher_deployments) - set(teacher_lib.DEPLOYMENTS))
    if unknown:
      raise ValueError(f"--teacher_deployments: unknown {','.join(unknown)}; known: "
                       f"{','.join(teacher_lib.DEPLOYMENTS)}")
    return self


#: Settings' defaults, declared there once (the flags' defaults).
_DEFAULTS = Settings()


def int_list(flag: str) -> tuple[int, ...]:
  """The comma-separated integers of list flag `flag`; ValueError names it."""
  try:
    return tuple(int(x) for x in FLAGS[flag].value)
  except ValueError:
    raise ValueError(f"--{flag}={','.join(FLAGS[flag].value)}: give integers") from None


def settings_from_flags() -> Settings:
  """The flags' Settings (validated)."""
  return Settings(
      lengths=int_list("buckets"),
      sentences_per_bucket=FLAGS.sentences_per_bucket, num_invokes=FLAGS.num_invokes,
      warmup=FLAGS.warmup,
      throughput_batch=FLAGS.throughput_batch if FLAGS.throughput else None,
      throughput_threads=FLAGS.throughput_threads,
      throughput_seconds=FLAGS.throughput_seconds, accuracy=FLAGS.accuracy,
      profile_ops=FLAGS.profile_ops,
      peak_shape=int_list("peak_shape") if FLAGS.peak_int8 else None,
      reference=FLAGS.reference, ratio_bucket=FLAGS.ratio_bucket, seed=FLAGS.seed,
      teacher_deployments=tuple(FLAGS.teacher_deployments)).validate()


def parse_models(entries: list[str]) -> dict[str, str]:
  """["name=path" or "path", ...] -> {name: path}, in order."""
  models = {}
  for entry in entries:
    name, sep, path = entry.partition("=")
    if not sep:
      name, path = os.path.splitext(os.path.basename(entry))[0], entry
    if name in models:
      raise ValueError(f"two models are named {name!r}; name them with name=path")
    if not os.path.isfile(path):
      raise FileNotFoundError(f"no TFLite model at {path}")
    models[name] = path
  return models


def run_worker(job: dict, workdir: str) -> dict:
  """Runs `job` in a fresh `latency` process (only the model's runtime is
  imported there) and returns its result."""
  job_path = os.path.join(workdir, "job.json")
  result_path = os.path.join(workdir, "result.json")
  with open(job_path, "w") as f:
    json.dump(job, f)
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  # The worker imports the same `benchmarks` package as this process, installed
  # or run from a source tree.
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
  cmd = [sys.executable, "-m", "pqrnn_tf.benchmarks.latency", f"--job={job_path}",
         f"--result={result_path}"]
  proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
  if proc.returncode != 0:
    raise RuntimeError(f"benchmark worker failed for {job.get('path') or job.get('deployment')}"
                       f" (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
  with open(result_path) as f:
    return json.load(f)


def measure_peak(shape: tuple[int, int, int], settings: Settings, output_dir: str,
                 workdir: str) -> dict:
  """Peak int8 GMAC/s of one core (LiteRT, one thread, int8 fully-connected)."""
  from . import peak  # pylint: disable=g-import-not-at-top
  layers, units, batch = shape
  path = os.path.join(output_dir, f"peak_int8_fc_{layers}x{units}_b{batch}.tflite")
  if not os.path.exists(path):  # conversion takes a while; the model never changes
    model = peak.fc_int8_model(layers, units, batch)
    with open(path + ".tmp", "wb") as f:  # a kill leaves no half model to reuse
      f.write(model)
    os.replace(path + ".tmp", path)
  result = run_worker({"kind": "raw_tflite", "path": path,
                       "num_invokes": max(50, settings.num_invokes // 10),
                       "warmup": max(5, settings.warmup // 10)}, workdir)
  return {"layers": layers, "units": units, "batch": batch, "path": path,
          "analytic_macs": peak.fc_macs(layers, units, batch),
          # The fastest invoke, not p50: a peak is what the core can do, and on a
          # shared machine a 30 ms invoke is preempted far more often than the
          # text models' sub-millisecond ones.
          "gmacs": result["macs"] / (result["min_us"] * 1e3), **result}


def tflite_accuracy(path: str, examples) -> tuple[dict, tuple]:
  """ATIS test metrics of a TFLite model in LiteRT, one sentence per invoke,
  and its predictions (intents, word tags or None)."""
  from pqrnn_tf import metrics  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.export import verify  # pylint: disable=g-import-not-at-top
  predictions = verify.tflite_predict(path, examples)
  return metrics.score_examples(examples, *predictions), predictions


def agreement(mine: tuple, theirs: tuple) -> dict:
  """How often two models' predictions (intents, word tags or None) on the
  same sentences agree: intents, word tags (over all words) and whole
  sentences (intent and every tag)."""
  (my_intents, my_tags), (their_intents, their_tags) = mine, theirs
  same_intent = [a == b for a, b in zip(my_intents, their_intents)]
  out = {"sentences": len(same_intent), "intent": sum(same_intent) / len(same_intent)}
  if my_tags is not None and their_tags is not None:
    words = [(a == b) for m, t in zip(my_tags, their_tags) for a, b in zip(m, t)]
    out["words"] = len(words)
    out["word_tags"] = sum(words) / len(words) if words else None
    out["sentence"] = sum(i and list(m) == list(t) for i, m, t in zip(
        same_intent, my_tags, their_tags)) / len(same_intent)
  return out


def finish_row(row: dict, result: dict) -> dict:
  """Merges a worker result into a table row."""
  row.update(result)
  row["rss_model_kb"] = row["rss_peak_kb"] - row["rss_runtime_kb"]
  return row


def is_portable(path: str) -> bool:
  """Whether `path` is a portable model (ValueError: its settings are unusable)."""
  from pqrnn_tf.inference import portable  # pylint: disable=g-import-not-at-top
  with open(path, "rb") as f:
    return portable.read_settings(f.read(), path) is not None


def check(models: dict[str, str], settings: Settings, output_dir: str,
          teacher_dir: str | None = None) -> str:
  """Everything `benchmark` needs that can be checked before timing; returns
  the reference row's name.

  Raises:
    ValueError: a setting, --reference or --output_dir that cannot be used.
    FileNotFoundError: a model without labels (when scoring accuracy).
    teacher_lib.TeacherUnavailable: a teacher deployment cannot be loaded.
  """
  settings.validate()
  if teacher_dir:
    for deployment in settings.teacher_deployments:
      teacher_lib.check_available(teacher_dir, deployment, settings.teacher_factory)
  names = [*models, *(name + PROJECTION_SUFFIX for name, path in models.items()
                      if is_portable(path)),
           *(teacher_lib.DISPLAY_NAMES[d] for d in settings.teacher_deployments
             if teacher_dir)]
  if not names:
    raise ValueError("--models: no models given")
  reference = settings.reference or names[0]
  if reference not in names:
    raise ValueError(f"--reference={reference} is not a benchmarked row; rows: "
                     f"{', '.join(names)}")
  if settings.accuracy:  # scoring reads them, after the timing
    for path in models.values():
      labels_lib.model_labels(path)
  cli_errors.check_writable(output_dir, f"--output_dir={output_dir}")
  return reference


def worker_job(settings: Settings, buckets: list, texts: list[str]) -> dict:
  """The part of every worker job that is the same for all rows."""
  if settings.throughput_batch and settings.throughput_batch > len(texts):
    raise ValueError(f"--throughput_batch={settings.throughput_batch}: more than the "
                     f"{len(texts)} ATIS test sentences")
  return {"buckets": [b.to_dict() for b in buckets], "num_invokes": settings.num_invokes,
          "warmup": settings.warmup,
          "throughput": settings.throughput_batch and {
              "texts": texts, "batch_size": settings.throughput_batch,
              "threads": throughput_threads(settings), "min_seconds": settings.throughput_seconds}}


def throughput_threads(settings: Settings) -> int:
  return settings.throughput_threads or os.cpu_count() or 1


#: The name suffix of a portable model's second row (projection inside the clock).
PROJECTION_SUFFIX = "+projection"


def time_model(name: str, path: str, job: dict, settings: Settings, buckets: list,
               test: list, workdir: str, predictions: dict) -> list[dict]:
  """The rows of one TFLite model: latency, memory, ops, op profile, accuracy.

  A string-in model gives one row. A portable model gives two: `name`, timed
  on projected inputs (invoke alone), and `name+projection`, timed string in
  -> outputs out (`benchmarks.latency.run_portable`); both share the file,
  memory, ops and accuracy. The ATIS test predictions go to
  `predictions[name]` (when scoring accuracy).
  """
  print(f"benchmarking {name} ({path})", flush=True)
  job = {"kind": "tflite", "path": path, "ratio_bucket": settings.ratio_bucket, **job}
  if settings.profile_ops:
    job["profile_sentence"] = next(
        b.sentences[0] for b in buckets if b.length == settings.ratio_bucket)
  result = run_worker(job, workdir)
  with_projection = result.pop("projection_buckets", None)
  row = finish_row({"name": name, "kind": "tflite", "path": path,
                    "bytes": os.path.getsize(path),
                    "timing": "invoke" if with_projection else "string in -> outputs"},
                   result)
  if settings.accuracy:
    row["accuracy"], predictions[name] = tflite_accuracy(path, test)
  if with_projection is None:
    return [row]
  return [row, {**row, "name": name + PROJECTION_SUFFIX, "buckets": with_projection,
                "timing": "projection + invoke"}]


def time_teacher(deployment: str, teacher_dir: str, job: dict, settings: Settings,
                 test: list, workdir: str) -> dict:
  """The row of one teacher deployment (its own runtime); accuracy from its predictions."""
  print(f"benchmarking teacher {deployment} ({teacher_dir})", flush=True)
  job = {"kind": "teacher", "teacher_dir": teacher_dir, "deployment": deployment,
         "teacher_factory": settings.teacher_factory,
         "predict_texts": [e.text for e in test] if settings.accuracy else None, **job}
  row = finish_row({"name": teacher_lib.DISPLAY_NAMES[deployment], "kind": "teacher",
                    "deployment": deployment, "path": teacher_dir}, run_worker(job, workdir))
  predictions = row.pop("predictions", None)
  if predictions:
    from pqrnn_tf import metrics  # pylint: disable=g-import-not-at-top
    row["accuracy"] = metrics.score_examples(
        test, predictions["intents"], [tuple(t) for t in predictions["tags"]])
  return row


def assemble(rows: list[dict], peak: dict | None, buckets: list, settings: Settings,
             reference: str, targets: dict | None = None,
             targets_file: str | None = None) -> dict:
  """What benchmark.json holds: when, where and how it was measured, the
  settings, rows with rates and fits, ratios, and the `targets` (those of
  `targets_file`; None: none) with their measured values."""
  for row in rows:
    report.add_rates(row, peak and peak["gmacs"])
    row["linear_fit"] = report.linear_fit(row)
  from importlib import metadata  # pylint: disable=g-import-not-at-top
  config = dataclasses.asdict(settings) | {
      "runtime_note": f"LiteRT {metadata.version('ai-edge-litert')} (ai_edge_litert) for "
                      f"TFLite models, the teacher's own runtimes for the teacher",
      "throughput": settings.throughput_batch and {"batch_size": settings.throughput_batch,
                                                   "threads": throughput_threads(settings)},
      "cpu_count": os.cpu_count()}
  return {provenance.KEY: provenance.measured(PROGRAM), "config": config,
          "buckets": [b.to_dict() | {"description": b.describe()} for b in buckets],
          "peak_int8": peak, "rows": rows, "reference": reference,
          "ratios": report.ratios(rows, reference, settings.ratio_bucket),
          "targets_file": targets_file, "targets": targets or {},
          "claims": report.claims(rows, reference, settings.ratio_bucket, targets or {})}


def read_targets(path: str) -> dict:
  """The targets of --targets file `path`; ValueError naming the flag if unusable."""
  try:
    return report.load_targets(path)
  except OSError as e:
    raise ValueError(f"--targets={path}: {(e.strerror or str(e)).lower()}") from None
  except (ValueError, UnicodeDecodeError) as e:
    raise ValueError(f"--targets={e}") from None


def benchmark(models: dict[str, str], settings: Settings, output_dir: str,
              teacher_dir: str | None = None, targets_file: str | None = None) -> dict:
  """Measures every model and the teacher's deployments; returns the results
  (what benchmark.json holds), with the targets of JSON file `targets_file`
  checked (None: none). Everything that can fail on the user's input fails
  before any timing (`check`, `worker_job`, `report.load_targets`)."""
  targets = read_targets(targets_file) if targets_file else None
  from pqrnn_tf.data.readers import read_atis  # pylint: disable=g-import-not-at-top
  reference = check(models, settings, output_dir, teacher_dir)
  test = read_atis("test")
  texts = [e.text for e in test]
  buckets = buckets_lib.make_buckets(texts, settings.lengths,
                                     settings.sentences_per_bucket, settings.seed)
  job = worker_job(settings, buckets, texts)
  with tempfile.TemporaryDirectory() as workdir:
    peak = measure_peak(settings.peak_shape, settings, output_dir, workdir) \
        if settings.peak_shape else None
    predictions = {}
    rows = [row for name, path in models.items()
            for row in time_model(name, path, job, settings, buckets, test, workdir,
                                  predictions)]
    rows += [time_teacher(deployment, teacher_dir, job, settings, test, workdir)
             for deployment in (settings.teacher_deployments if teacher_dir else ())]
  reference_name = reference.removesuffix(PROJECTION_SUFFIX)
  for row in rows:
    name = row["name"].removesuffix(PROJECTION_SUFFIX)
    if name != reference_name and name in predictions and reference_name in predictions:
      row["agreement_with_reference"] = agreement(predictions[name],
                                                  predictions[reference_name])
  return assemble(rows, peak, buckets, settings, reference, targets, targets_file)


def write_outputs(results: dict, output_dir: str) -> str:
  """Writes benchmark.png, benchmark.json and benchmark.md; returns the Markdown."""
  os.makedirs(output_dir, exist_ok=True)
  results["plot"] = os.path.join(output_dir, OUTPUT_STEM + ".png")
  results["plot_metric"] = report.plot(results, results["plot"])
  with open(os.path.join(output_dir, OUTPUT_STEM + ".json"), "w") as f:
    json.dump(results, f, indent=2, ensure_ascii=False)
  text = report.markdown(results)
  with open(os.path.join(output_dir, OUTPUT_STEM + ".md"), "w") as f:
    f.write(text)
  return text


def main(argv) -> None:
  del argv
  try:
    results = benchmark(parse_models(FLAGS.models), settings_from_flags(),
                        FLAGS.output_dir, FLAGS.teacher_dir, FLAGS.targets)
  except (teacher_lib.TeacherUnavailable, ValueError) as e:
    cli_errors.fail(PROGRAM, e)
  print("\n" + write_outputs(results, FLAGS.output_dir))
  print(f"Wrote {OUTPUT_STEM}.md, .json and .png to {FLAGS.output_dir}")


def run() -> None:
  cli_errors.run(PROGRAM, define_flags, main)


if __name__ == "__main__":
  run()
