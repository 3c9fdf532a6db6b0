"""How fast does pqrnn-train train? The training loops side by side (a benchmark).

  python -m pqrnn_tf.benchmarks.training_speed --datasets=atis --seeds=0,1,2
  python -m pqrnn_tf.benchmarks.training_speed --datasets=vader_sentiment --preset=pqrnn_classifier
  python -m pqrnn_tf.benchmarks.training_speed --mode=profile --datasets=atis --profile_ops

compare (the default): for every data set, seed and --loops entry, runs
`pqrnn-train --loop=<loop>` from scratch in its own process (pinned with
`taskset -c --cpus`, under `nice`, with --threads TF threads, the same for
every loop so that they compare) and reports
  * sentences/s: training examples over the seconds of the training steps
    (dev scoring excluded), over all epochs; sentences/CPU s the same over
    the CPU seconds of those steps (what a busy machine disturbs least);
  * seconds per epoch: the median time from one epoch's end to the next
    (training, dev scoring, checkpoint);
  * time to the best dev epoch and total wall time to metrics.json, both from
    the start of the process (imports, data reading and the final SavedModel
    and scoring included);
  * CPU seconds and peak RSS of the process (on a shared machine the wall
    times carry the other users' load; CPU seconds much less);
  * the final dev and test metrics and the best epoch.
--baseline_code=DIR runs the baseline loop with the code of another checkout
(its ops built), to compare against earlier code as a whole, layers included:

  git worktree add ../pqrnn_tf_bd89eb2 bd89eb2
  (cd ../pqrnn_tf_bd89eb2 && python setup.py -q build_ext --inplace)
  python -m pqrnn_tf.benchmarks.training_speed --baseline_code=../pqrnn_tf_bd89eb2

(bd89eb2 added the fast loop; its baseline loop is the loop before it.)
Each run's output is kept in its run directory (train.log, each line with its
seconds since the start) and its numbers too (timing.json): a finished run
is not run again while its training code is the same (--rerun does), so the
table grows seed by seed. "The same" is `training_code_fingerprint`: a
change to the layers, models, loop or data pipeline runs it again; one to
docs or benchmarks does not. Writes
training_speed_<dataset>_<preset>.json and .md to --output_dir. --epochs,
--batch_size and --learning_rate are passed to every run and named in its
run directory and the table's file name ("_e10_b64_lr0.002"), so runs with
other settings never mix.

profile: where one epoch's time goes, in this process, for each loop: the
input pipeline alone, the projection op alone, the forward pass, forward and
backward, the whole step with the optimizer, a Keras `fit` epoch (its excess
over the steps is Keras and Python overhead), dev scoring, a checkpoint, the
best-weights save, and the end of a run (SavedModel save, dev and test
scoring). CPU seconds of this process and wall seconds for each; with
--profile_ops, the TF ops that take the most time in a `fit` epoch
(tf.profiler). Pin it like compare: `taskset -c 1 nice python -m ...`.
The step's first pass (tracing every batch shape) is timed apart from the
step. --batch_size and --learning_rate set the profiled run's; --xla turns on
XLA auto-clustering on CPU for the whole process (`XLA_FLAGS`), its compiling
then in the first pass and, for each new batch shape, in the fit epoch.
"""
from __future__ import annotations

import collections
import functools
import glob
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from absl import app, flags

from pqrnn_tf import cli_errors
from pqrnn_tf.benchmarks import provenance
from pqrnn_tf.metrics import HEADLINE_METRICS, METRICS_FILE
from pqrnn_tf.preset_files import preset_label

FLAGS = flags.FLAGS
PROGRAM = "python -m pqrnn_tf.benchmarks.training_speed"
LOOPS = ("baseline", "fast")
#: The preset each built-in data set is benchmarked with unless --preset says.
DEFAULT_PRESETS = {"atis": "pqrnn_base", "multilingual_langid": "pqrnn_classifier",
                   "vader_sentiment": "pqrnn_classifier"}
#: Columns of the table: (key in a run's timing.json, header, format).
COLUMNS = (("sentences_per_second", "sentences/s", "{:.0f}"),
           ("sentences_per_cpu_second", "sentences/CPU s", "{:.0f}"),
           ("seconds_per_epoch", "s/epoch", "{:.1f}"),
           ("epochs", "epochs", "{:.0f}"),
           ("seconds_to_best", "s to best dev", "{:.0f}"),
           ("wall_seconds", "s to metrics.json", "{:.0f}"),
           ("cpu_seconds", "CPU s", "{:.0f}"),
           ("peak_rss_mb", "peak RSS MB", "{:.0f}"))
TIMING_FILE = "timing.json"
#: TF_XLA_FLAGS that turn on XLA auto-clustering on CPU (clusters of builtin
#: ops compiled; the custom ops and string ops stay outside them).
XLA_FLAGS = ("--tf_xla_auto_jit=2", "--tf_xla_cpu_global_jit")


def define_flags() -> None:
  flags.DEFINE_enum("mode", "compare", ["compare", "profile"], "compare: pqrnn-train "
                    "runs side by side; profile: where an epoch's time goes.")
  flags.DEFINE_list("datasets", ["atis"], "Built-in data sets (pqrnn_tf.data.datasets).")
  flags.DEFINE_string("preset", None, "Preset name or JSON file (default per data set: "
                      + ", ".join(f"{k} {v}" for k, v in DEFAULT_PRESETS.items()) + ").")
  flags.DEFINE_list("seeds", ["0"], "Training seeds (compare).")
  flags.DEFINE_list("loops", list(LOOPS), "Training loops, in table order.")
  flags.DEFINE_integer("epochs", None, "pqrnn-train --epochs (default: its own).")
  flags.DEFINE_string("cpus", "1", "taskset -c list the runs are pinned to (empty: no pinning).")
  flags.DEFINE_integer("threads", 1, "TF_NUM_INTRAOP_THREADS and TF_NUM_INTEROP_THREADS "
                       "of the runs (0: TF's default).", lower_bound=0)
  flags.DEFINE_bool("nice", True, "Run pqrnn-train under nice.")
  flags.DEFINE_string("runs_dir", "runs/training_speed", "Run directories.")
  flags.DEFINE_string("output_dir", "out/benchmarks", "Where the tables go.")
  flags.DEFINE_bool("rerun", False, "Run again even when a run's timing.json exists.")
  flags.DEFINE_integer("profile_sentences", 0, "profile: a seeded sample of this many "
                       "training sentences (0: all of them), for big data sets.",
                       lower_bound=0)
  flags.DEFINE_bool("profile_ops", False, "profile: also list the TF ops that take the "
                    "most time in a fit epoch.")
  flags.DEFINE_integer("batch_size", None, "pqrnn-train --batch_size of every run "
                       "(default: its own); profile: the batch size.", lower_bound=1)
  flags.DEFINE_float("learning_rate", None, "pqrnn-train --learning_rate of every run "
                     "(default: its own); profile: the Adam rate.", lower_bound=0)
  flags.DEFINE_string("baseline_code", None, "compare: a checkout of earlier code, its ops "
                      "built, whose pqrnn-train runs the baseline loop (PYTHONPATH), e.g. "
                      "the commit that added the fast loop, whose baseline loop is the "
                      "loop and layers of the code before it. Its commit names the "
                      "baseline's runs and rows.")
  flags.DEFINE_bool("xla", False, "profile: XLA auto-clustering on CPU (TF_XLA_FLAGS "
                    f"{' '.join(XLA_FLAGS)}) for this process; a full jit_compile "
                    "cannot take the string inputs and custom ops.")


def preset_of(dataset: str) -> str:
  return FLAGS.preset or DEFAULT_PRESETS.get(dataset, "pqrnn_base")


def training_settings() -> dict:
  """The pqrnn-train settings the flags change from its defaults, by name
  ({"epochs": 10, "batch_size": 64, ...}; empty for none)."""
  values = {"epochs": FLAGS.epochs, "batch_size": FLAGS.batch_size,
            "learning_rate": FLAGS.learning_rate}
  return {k: v for k, v in values.items() if v is not None}


def settings_tag() -> str:
  """What `training_settings` changes, for run directory and table names
  ("_e10_b64_lr0.002"): runs with other settings never share one."""
  short = {"epochs": "e", "batch_size": "b", "learning_rate": "lr"}
  return "".join(f"_{short[k]}{v:g}" for k, v in training_settings().items())


@functools.lru_cache(maxsize=None)
def code_commit(checkout: str) -> str:
  """The short commit a checkout is at (UsageError when it is not one); asked
  of git once per checkout, though every run's directory and row names it."""
  result = subprocess.run(["git", "-C", checkout, "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True)
  if result.returncode or not os.path.isdir(os.path.join(checkout, "pqrnn_tf")):
    raise app.UsageError(f"--baseline_code: {checkout} is not a git checkout of pqrnn_tf")
  return result.stdout.strip()


def other_checkout(loop: str) -> str | None:
  """The checkout whose code runs `loop` when it is not this one's:
  --baseline_code's, for the baseline loop."""
  return FLAGS.baseline_code if loop == "baseline" and FLAGS.baseline_code else None


def loop_label(loop: str) -> str:
  """A loop's name in run directories and tables: "baseline@<commit>" when
  --baseline_code runs it, so runs of other code never mix."""
  checkout = other_checkout(loop)
  return f"baseline@{code_commit(checkout)}" if checkout else loop


def training_code_fingerprint(package_dir: str) -> str:
  """A short hash of the training code of a pqrnn_tf package: its .py and
  .json files (presets) but the benchmarks'. The compiled ops are not in it:
  after changing custom_ops/, train again with --rerun."""
  digest = hashlib.sha256()
  files = glob.glob(os.path.join(package_dir, "**", "*.py"), recursive=True) + glob.glob(
      os.path.join(package_dir, "**", "*.json"), recursive=True)
  for path in sorted(files):
    name = os.path.relpath(path, package_dir)
    if name.split(os.sep)[0] == "benchmarks":
      continue
    with open(path, "rb") as f:
      digest.update(name.encode() + b"\0" + f.read() + b"\0")
  return digest.hexdigest()[:12]


def loop_code(loop: str) -> str:
  """The fingerprint of the training code that runs `loop`."""
  checkout = other_checkout(loop)
  return training_code_fingerprint(os.path.join(checkout, "pqrnn_tf") if checkout
                                   else os.path.dirname(os.path.dirname(__file__)))


def cached_timing(timing_path: str, code: str) -> dict | None:
  """A finished run's numbers (its timing.json) when the same training code
  made them, else None (and the run is trained again)."""
  if not os.path.exists(timing_path):
    return None
  with open(timing_path) as f:
    timing = json.load(f)
  if timing.get("code") == code:
    return timing
  print(f"{timing_path}: made by other training code; training it again", flush=True)
  return None


def run_dir(dataset: str, preset: str, loop: str, seed: int) -> str:
  return os.path.join(FLAGS.runs_dir, f"{dataset}_{preset_label(preset)}{settings_tag()}"
                                      f"_{loop_label(loop)}_s{seed}")


def train_command(dataset: str, preset: str, loop: str, seed: int) -> list[str]:
  """The pqrnn-train command of one run (without the launcher's prefix)."""
  return ([sys.executable, "-m", "pqrnn_tf.train.cli", f"--dataset={dataset}",
           f"--preset={preset}", f"--seed={seed}", f"--loop={loop}",
           f"--model_dir={run_dir(dataset, preset, loop, seed)}"]
          + [f"--{k}={v}" for k, v in training_settings().items()])


def with_xla(env: dict) -> dict:
  """`env` with XLA_FLAGS added to its TF_XLA_FLAGS (any others kept)."""
  present = env.get("TF_XLA_FLAGS", "").split()
  return dict(env, TF_XLA_FLAGS=" ".join(present + [f for f in XLA_FLAGS
                                                     if f not in present]))


# ---------------------------------------------------------------- compare


def launcher(loop: str) -> tuple[list[str], dict]:
  """(command prefix, environment) that pin, nice and thread every run alike;
  the baseline's imports come from --baseline_code when it is set."""
  prefix = (["taskset", "-c", FLAGS.cpus] if FLAGS.cpus else []) + (
      ["nice"] if FLAGS.nice else [])
  env = dict(os.environ)
  if FLAGS.threads:
    env["TF_NUM_INTRAOP_THREADS"] = env["TF_NUM_INTEROP_THREADS"] = str(FLAGS.threads)
  checkout = other_checkout(loop)
  if checkout:
    # `python -m` would put the working directory (this checkout, run from its
    # root) ahead of PYTHONPATH: PYTHONSAFEPATH keeps it off sys.path.
    others = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([os.path.abspath(checkout)] + others)
    env["PYTHONSAFEPATH"] = "1"
  return prefix, env


def parse_log(lines: list[tuple[float, str]]) -> dict:
  """Per-epoch numbers from pqrnn-train's output, each line with its seconds
  since the start: {epoch: end seconds}, {epoch: (steps, training seconds)}."""
  ends, steps = {}, {}
  for seconds, line in lines:
    parts = line.split()
    # "Epoch 3: 140 training steps in 5.21 s (4.90 CPU s)"
    if len(parts) >= 7 and parts[0] == "Epoch" and parts[1].endswith(":") and (
        parts[3:6] == ["training", "steps", "in"]):
      epoch = int(parts[1][:-1])
      ends[epoch] = seconds
      cpu = float(parts[8].lstrip("(")) if len(parts) >= 11 else None
      steps[epoch] = (int(parts[2]), float(parts[6]), cpu)
  return {"epoch_ends": ends, "epoch_steps": steps}


def run_one(dataset: str, preset: str, loop: str, seed: int, num_train: int) -> dict:
  """Trains one run from scratch; returns (and keeps) its numbers."""
  model_dir = run_dir(dataset, preset, loop, seed)
  timing_path = os.path.join(model_dir, TIMING_FILE)
  code = loop_code(loop)
  cached = None if FLAGS.rerun else cached_timing(timing_path, code)
  if cached is not None:
    return cached
  shutil.rmtree(model_dir, ignore_errors=True)
  os.makedirs(model_dir)
  prefix, env = launcher(loop)
  cmd = prefix + train_command(dataset, preset, loop, seed)
  print("$", " ".join(cmd), flush=True)
  lines = []
  start = time.monotonic()
  with open(os.path.join(model_dir, "train.log"), "w") as log:
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:
      lines.append((time.monotonic() - start, line.rstrip("\n")))
      log.write(f"{lines[-1][0]:9.2f} {line}")
      log.flush()
    _, status, usage = os.wait4(process.pid, 0)
  wall = time.monotonic() - start
  process.returncode = os.waitstatus_to_exitcode(status)
  if process.returncode:
    raise RuntimeError(f"{' '.join(cmd)} failed ({process.returncode}); see "
                       f"{os.path.join(model_dir, 'train.log')}")
  with open(os.path.join(model_dir, METRICS_FILE)) as f:
    metrics = json.load(f)
  parsed = parse_log(lines)
  ends, steps = parsed["epoch_ends"], parsed["epoch_steps"]
  epochs = sorted(ends)
  gaps = [ends[e] - ends[e - 1] for e in epochs if e - 1 in ends]
  train_seconds = sum(s[1] for s in steps.values())
  train_cpu = [s[2] for s in steps.values()]
  result = {
      "dataset": dataset, "preset": preset_label(preset), "loop": loop_label(loop),
      "seed": seed, "command": " ".join(cmd), "code": code,
      "epochs": len(epochs), "best_epoch": metrics.get("best_epoch"),
      "sentences_per_second": num_train * len(epochs) / train_seconds,
      "sentences_per_cpu_second": (num_train * len(epochs) / sum(train_cpu)
                                   if None not in train_cpu else None),
      "seconds_per_epoch": statistics.median(gaps) if gaps else None,
      "epoch_train_seconds": [steps[e][1] for e in epochs],
      "epoch_train_cpu_seconds": [steps[e][2] for e in epochs],
      "seconds_to_best": ends.get(metrics.get("best_epoch")),
      "wall_seconds": wall,
      "cpu_seconds": usage.ru_utime + usage.ru_stime,
      "peak_rss_mb": usage.ru_maxrss / 1024,
      "dev": metrics.get("dev", {}), "test": metrics.get("test", {}),
  }
  with open(timing_path, "w") as f:
    json.dump(result, f, indent=2)
  return result


def mean_spread(values: list[float]) -> tuple[float, float]:
  """(mean, sample standard deviation; 0 for one value)."""
  return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def fmt(values: list, form: str, scale: float = 1.0) -> str:
  values = [v * scale for v in values if v is not None]
  if not values:
    return "-"
  mean, spread = mean_spread(values)
  return form.format(mean) + (f" ± {form.format(spread)}" if len(values) > 1 else "")


def summarize(runs: list[dict], loops: list[str]) -> dict:
  """Per loop: every column's mean and spread over the seeds, the metrics',
  and each column's ratio baseline / loop (speed-up; > 1 is faster)."""
  summary = {}
  for loop in loops:
    mine = [r for r in runs if r["loop"] == loop]
    if not mine:
      continue
    row = {"seeds": [r["seed"] for r in mine]}
    for key, _, _ in COLUMNS:
      values = [r[key] for r in mine if r.get(key) is not None]
      row[key] = mean_spread(values) if values else None
    for split in ("dev", "test"):
      for metric in HEADLINE_METRICS:
        values = [r[split][metric] for r in mine if metric in r.get(split, {})]
        if values:
          row[f"{split}_{metric}"] = mean_spread(values)
    summary[loop] = row
  base_loop = next((loop for loop in loops if loop.partition("@")[0] == "baseline"), None)
  base = summary.get(base_loop)
  for loop, row in summary.items():
    if base is None or loop == base_loop:
      continue
    speedup = {}
    for key in ("seconds_per_epoch", "seconds_to_best", "wall_seconds", "cpu_seconds"):
      if base.get(key) and row.get(key):
        speedup[key] = base[key][0] / row[key][0]
    for key in ("sentences_per_second", "sentences_per_cpu_second"):
      if base.get(key) and row.get(key):
        speedup[key] = row[key][0] / base[key][0]
    row["speedup_over_baseline"] = speedup
  return summary


def markdown(runs: list[dict], loops: list[str]) -> str:
  metric_keys = [m for m in HEADLINE_METRICS if any(m in r.get("test", {}) for r in runs)]
  header = (["loop", "seeds"] + [h for _, h, _ in COLUMNS]
            + [f"dev {m}" for m in metric_keys] + [f"test {m}" for m in metric_keys])
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for loop in loops:
    mine = [r for r in runs if r["loop"] == loop]
    if not mine:
      continue
    cells = [loop, ",".join(str(r["seed"]) for r in mine)]
    cells += [fmt([r.get(k) for r in mine], form) for k, _, form in COLUMNS]
    for split in ("dev", "test"):
      cells += [fmt([r[split].get(m) for r in mine], "{:.2f}", 100) for m in metric_keys]
    lines.append("| " + " | ".join(cells) + " |")
  summary = summarize(runs, loops)
  for loop, row in summary.items():
    if row.get("speedup_over_baseline"):
      s = row["speedup_over_baseline"]
      lines.append("")
      lines.append(f"{loop} over baseline: " + ", ".join(
          f"{name} x{s[key]:.2f}" for key, name in (
              ("sentences_per_second", "sentences/s"),
              ("sentences_per_cpu_second", "sentences/CPU s"), ("seconds_per_epoch", "s/epoch"),
              ("seconds_to_best", "time to best dev"),
              ("wall_seconds", "time to metrics.json"), ("cpu_seconds", "CPU seconds"))
          if key in s))
  return "\n".join(lines)


def compare() -> None:
  from pqrnn_tf.data import datasets  # pylint: disable=g-import-not-at-top
  seeds = [int(s) for s in FLAGS.seeds]
  os.makedirs(FLAGS.output_dir, exist_ok=True)
  for dataset in FLAGS.datasets:
    preset = preset_of(dataset)
    num_train = len(datasets.read_split(dataset, "train"))
    runs = []
    for seed in seeds:  # Loops interleaved: the machine's load hits them alike.
      for loop in FLAGS.loops:
        runs.append(run_one(dataset, preset, loop, seed, num_train))
    stem = os.path.join(FLAGS.output_dir,
                        f"training_speed_{dataset}_{preset_label(preset)}{settings_tag()}")
    settings = {k: FLAGS[k].value for k in ("epochs", "batch_size", "learning_rate", "cpus",
                                            "threads", "nice", "seeds")}
    labels = [loop_label(loop) for loop in FLAGS.loops]
    settings.update(dataset=dataset, preset=preset, loops=labels)
    table = markdown(runs, labels)
    with open(stem + ".json", "w") as f:
      json.dump({provenance.KEY: provenance.measured(PROGRAM), "settings": settings,
                 "runs": runs, "summary": summarize(runs, labels)}, f, indent=2)
    with open(stem + ".md", "w") as f:
      f.write(table + "\n")
    print(f"\n{dataset}, {preset_label(preset)} ({len(seeds)} seed(s); "
          f"taskset -c {FLAGS.cpus or 'all'}, {FLAGS.threads or 'default'} TF "
          f"thread(s)):\n\n{table}")


# ---------------------------------------------------------------- profile


class Timer:
  """Wall and CPU seconds (this process) of named phases."""

  def __init__(self):
    self.phases: dict[str, dict] = {}

  def __call__(self, name: str, fn, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    self.phases[name] = {"wall_seconds": time.perf_counter() - wall,
                         "cpu_seconds": time.process_time() - cpu}
    return result


def top_ops(logdir: str, count: int = 15) -> list[tuple[str, float, int]]:
  """(op type, total milliseconds, calls) of the TF ops a tf.profiler trace
  in `logdir` recorded, most time first."""
  from tensorflow.tsl.profiler.protobuf import xplane_pb2  # pylint: disable=g-import-not-at-top
  totals, calls = collections.Counter(), collections.Counter()
  for path in glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True):
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
      space.ParseFromString(f.read())
    for plane in space.planes:
      for line in plane.lines:
        if not line.name.startswith("tf_Compute"):
          continue
        for event in line.events:
          name = plane.event_metadata[event.metadata_id].name
          if ":" not in name or "::" in name:  # Executor bookkeeping, not an op.
            continue
          op_type = name.rsplit(":", 1)[1]
          totals[op_type] += event.duration_ps / 1e9
          calls[op_type] += 1
  return [(op, ms, calls[op]) for op, ms in totals.most_common(count)]


def profile_loop(dataset: str, preset: str, loop: str, splits: dict) -> dict:
  """The phases of one epoch (and of a run's end) of `loop`, timed."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tf_keras as keras  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.models import load_preset  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.train import evaluation, trainer  # pylint: disable=g-import-not-at-top
  timer = Timer()
  config = trainer.make_config(load_preset(preset), splits["train"],
                               **{k: v for k, v in training_settings().items()
                                  if k != "epochs"})
  keras.utils.set_random_seed(config.seed)
  intents, tags = config.vocabs()
  strategy = tf.distribute.get_strategy()
  model = timer("build and compile", trainer.build_and_compile, config, strategy,
                splits["train"], intents, tags)
  train_ds, _ = trainer.training_data(config, strategy, splits["train"], intents, tags,
                                      None, loop=loop)
  batches = timer("input pipeline", list, train_ds)
  projection = model.get_layer("projection")
  timer("projection op", lambda: [projection(x, training=True) for x, _ in batches])
  padded = sum(int(tf.size(x)) * int(projection(x).shape[1]) for x, _ in batches)

  forward = tf.function(lambda x: model(x, training=True), reduce_retracing=True)

  @tf.function(reduce_retracing=True)
  def forward_backward(x, y):
    with tf.GradientTape() as tape:
      loss = model.compiled_loss(y, model(x, training=True))
    return tape.gradient(loss, model.trainable_variables)

  @tf.function(reduce_retracing=True)
  def step(x, y):
    gradients = forward_backward(x, y)
    model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))

  for name, fn, with_targets in (("forward", forward, False),
                                 ("forward + backward", forward_backward, True),
                                 ("step (+ optimizer)", step, True)):
    def epoch(fn=fn, with_targets=with_targets):
      for x, y in batches:
        fn(x, y) if with_targets else fn(x)
    # The first pass traces (and with --xla compiles) every shape: the timed
    # pass runs traced code. The step's first pass is timed too: tracing and
    # compiling are paid once per batch shape in every run.
    if name.startswith("step"):
      timer(f"{name}: first pass", epoch)
    else:
      epoch()
    timer(name, epoch)
  model.fit(train_ds, epochs=1, verbose=0)  # Traces Keras's train function.
  timer("keras fit epoch", model.fit, train_ds, epochs=1, verbose=0)
  top = []
  if FLAGS.profile_ops:
    logdir = tempfile.mkdtemp(prefix="training_speed_ops_")
    tf.profiler.experimental.start(logdir)
    model.fit(train_ds, epochs=1, verbose=0)
    tf.profiler.experimental.stop()
    top = top_ops(logdir)
    shutil.rmtree(logdir, ignore_errors=True)
  sort = loop == "fast"
  evaluation.predict(model, splits["dev"], intents, tags, sort_by_length=sort)
  timer("dev scoring", evaluation.predict, model, splits["dev"], intents, tags,
        sort_by_length=sort)
  out = tempfile.mkdtemp(prefix="training_speed_")
  checkpoint = trainer.EpochCheckpoint(os.path.join(out, "checkpoints"), model)
  timer("first checkpoint", checkpoint.manager.save)
  timer("checkpoint", checkpoint.manager.save)
  timer("best weights", model.save_weights, os.path.join(out, trainer.BEST_WEIGHTS))
  timer("SavedModel", model.save, os.path.join(out, trainer.SAVED_MODEL_DIR),
        save_format="tf")
  timer("final dev + test scoring", lambda: [
      evaluation.predict(model, splits[s], intents, tags, sort_by_length=sort)
      for s in ("dev", "test")])
  shutil.rmtree(out, ignore_errors=True)
  phases = timer.phases
  step_cpu = phases["step (+ optimizer)"]["cpu_seconds"]
  phases["keras/python overhead (fit - step)"] = {
      k: phases["keras fit epoch"][k] - phases["step (+ optimizer)"][k]
      for k in ("wall_seconds", "cpu_seconds")}
  words = sum(len(config.model.tokenization.row_words(e.text)) for e in splits["train"])
  return {"dataset": dataset, "preset": preset_label(preset), "loop": loop,
          "batches": len(batches), "padding_factor": padded / words,
          "sentences_per_cpu_second": len(splits["train"]) / step_cpu,
          "phases": phases, "top_ops_ms": top}


def profile_markdown(results: list[dict]) -> str:
  """The profile table of `profile_loop` results (a column per loop), then
  each loop's top ops when they were listed."""
  lines = ["| phase | " + " | ".join(r["loop"] for r in results) + " |",
           "|---|" + "---|" * len(results)]
  for name in results[0]["phases"]:
    lines.append(f"| {name} | " + " | ".join(
        "{cpu_seconds:.2f} / {wall_seconds:.2f}".format(**r["phases"][name])
        for r in results) + " |")
  for key, form in (("batches", "{}"), ("padding_factor", "{:.2f}"),
                    ("sentences_per_cpu_second", "{:.0f}")):
    lines.append(f"| {key.replace('_', ' ')} | "
                 + " | ".join(form.format(r[key]) for r in results) + " |")
  for r in results:
    if r["top_ops_ms"]:
      lines += ["", f"{r['loop']}: top TF ops in a fit epoch (ms, calls):", "",
                "| op | ms | calls |", "|---|---|---|"]
      lines += [f"| {op} | {ms:.1f} | {calls} |" for op, ms, calls in r["top_ops_ms"]]
  return "\n".join(lines)


def profile() -> None:
  import pqrnn_tf  # noqa: F401  pylint: disable=g-import-not-at-top (sets the Keras version)
  from pqrnn_tf.data import datasets  # pylint: disable=g-import-not-at-top
  os.makedirs(FLAGS.output_dir, exist_ok=True)
  for dataset in FLAGS.datasets:
    preset = preset_of(dataset)
    splits = datasets.read_splits(dataset)
    if 0 < FLAGS.profile_sentences < len(splits["train"]):
      chosen = np.random.default_rng(0).choice(len(splits["train"]), FLAGS.profile_sentences,
                                               replace=False)
      splits["train"] = [splits["train"][i] for i in sorted(chosen)]
    results = [profile_loop(dataset, preset, loop, splits) for loop in FLAGS.loops]
    text = (f"{dataset}, {preset_label(preset)}, {len(splits['train'])} training sentences: "
            f"seconds per epoch (CPU / wall) by phase\n\n{profile_markdown(results)}")
    xla = "_xla" if FLAGS.xla else ""
    stem = os.path.join(FLAGS.output_dir, f"training_speed_profile_{dataset}_"
                        f"{preset_label(preset)}{settings_tag()}{xla}")
    settings = dict(training_settings(), xla=FLAGS.xla, **{
        k: os.environ.get(k) for k in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
                                       "TF_XLA_FLAGS")})
    with open(stem + ".json", "w") as f:
      json.dump({provenance.KEY: provenance.measured(PROGRAM), "settings": settings,
                 "loops": results}, f, indent=2)
    with open(stem + ".md", "w") as f:
      f.write(text + "\n")
    print("\n" + text)


def main(argv) -> None:
  del argv
  unknown = [loop for loop in FLAGS.loops if loop not in LOOPS]
  if unknown:
    raise app.UsageError(f"--loops: unknown {unknown}; choose from {list(LOOPS)}")
  if FLAGS.xla and FLAGS.mode != "profile":
    raise app.UsageError("--xla: only --mode=profile (pqrnn-train has no XLA setting)")
  if FLAGS.baseline_code:
    if FLAGS.mode != "compare":
      raise app.UsageError("--baseline_code: only --mode=compare")
    code_commit(FLAGS.baseline_code)
  if FLAGS.mode == "profile":
    if FLAGS.xla:  # Read when TensorFlow first compiles: set before it loads.
      os.environ.update(with_xla(dict(os.environ)))
    profile()
  else:
    compare()


if __name__ == "__main__":
  cli_errors.run(PROGRAM, define_flags, main)
