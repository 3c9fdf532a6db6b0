"""Does distillation pay? Teacher vs student alone vs distilled student (a benchmark).

  python -m pqrnn_tf.benchmarks.distillation --label_fraction=0.05
  python -m pqrnn_tf.benchmarks.distillation --label_fraction=0.1 --seeds=0,1,2
  python -m pqrnn_tf.benchmarks.distillation --label_fraction=1 --students=alone,distilled,augmented

The low-resource setting the toolkit is for: a seeded random `--label_fraction`
of the training split is labeled; the rest of it is unlabeled text, which only
the teacher labels. Dev and test are unchanged. For each fraction:
  1. data: labeled.jsonl, texts.jsonl (labeled + unlabeled texts, no labels),
     dev.jsonl, test.jsonl under --runs_dir/<task>_f<F>_split<S>/;
  2. teacher: `pqrnn-teacher train` on the labeled part (its default recipe,
     which gives small data a minimum number of steps), then its logits of
     every training text (`pqrnn-teacher logits`);
  3. students (`pqrnn-train`, then `pqrnn-export --quantization=int8`), per seed:
       alone      the labeled part only, repeated so that an epoch has as many
                  steps as the distilled student's (same epochs, same patience);
       distilled  the labeled part with the teacher's logits, plus the
                  unlabeled texts labeled by the teacher alone;
       augmented  distilled, plus `pqrnn-augment` variants labeled by the
                  teacher (--augment_multiplier per sentence) of the labeled
                  part, or of every training text (--augment_source=texts);
  4. the table: test metrics of each student's int8 model run in LiteRT, mean
     and spread over every finished seed (not only --seeds), as % of the
     teacher and as the share of the teacher-minus-alone gap the distilled
     student closes.

Every stage runs the toolkit's own commands and is skipped when its output
exists (sharded teacher logits, --logit_shard_size, run again and resume,
keeping finished shards), so an interrupted run resumes where it stopped and
the table is rebuilt cheaply. Writes distillation_<task>_f<F>[<settings>].json and .md to
--output_dir (settings: the distillation flags that differ from the defaults).
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np
from absl import app, flags

from pqrnn_tf.benchmarks import commands, provenance

from pqrnn_tf.data.augment import AugmentConfig
from pqrnn_tf.metrics import METRICS_FILE
from pqrnn_tf.preset_files import preset_label
from pqrnn_tf.train.distillation import DistillConfig

FLAGS = flags.FLAGS
PROGRAM = "python -m pqrnn_tf.benchmarks.distillation"
#: The distillation and augmentation settings' defaults, declared there once.
_DISTILL, _AUGMENT = DistillConfig(), AugmentConfig()
#: The students' training budget (other values name their own run directories).
_EPOCHS, _PATIENCE = 20, 5
#: The students' rate decay per epoch without dev gain, for every task: the
#: README's distillation tables were measured with it (pqrnn-train's default
#: for joint intent + slot data is a constant rate).
_PLATEAU_DECAY = 0.5
TASKS = ("atis", "vader_sentiment")
STUDENTS = {"alone": "student alone", "distilled": "student, distilled",
            "augmented": "student, distilled + augmented"}
TEACHER_NAME = "teacher (all-MiniLM-L6-v2, fp32)"
DEFAULT_PRESET = "pqrnn_base"
#: What the augmented student's variants are made of (the first is the default).
AUGMENT_SOURCES = ("labeled", "texts")
#: Each student's int8 model, in its run directory.
INT8_MODEL = "model_int8.tflite"


def define_flags() -> None:
  flags.DEFINE_enum("task", "atis", list(TASKS), "Built-in data set (pqrnn_tf.data.datasets).")
  flags.DEFINE_float("label_fraction", 0.05, "Share of the training split that is "
                     "labeled (the rest is unlabeled text for the teacher to label).")
  flags.DEFINE_integer("split_seed", 0, "Seed of the labeled subset.")
  flags.DEFINE_list("seeds", ["0", "1", "2"], "Student seeds to train (the table "
                    "has every finished seed of the same settings).")
  flags.DEFINE_list("students", ["alone", "distilled"], f"Any of {list(STUDENTS)}.")
  flags.DEFINE_string("runs_dir", "runs/distillation", "Data, teacher and student runs.")
  flags.DEFINE_string("output_dir", "out/benchmarks", "Where the table goes.")
  flags.DEFINE_string("preset", DEFAULT_PRESET, "Student preset: a name, or a JSON file "
                      "(runs and tables are named by its file name).")
  flags.DEFINE_integer("epochs", _EPOCHS, "Student epochs (at most; early stopping).")
  flags.DEFINE_integer("patience", _PATIENCE, "Student early-stopping patience (epochs).")
  flags.DEFINE_float("temperature", _DISTILL.temperature, "Distillation temperature.")
  flags.DEFINE_float("hard_weight", _DISTILL.hard_weight, "Weight of the gold-label loss.")
  flags.DEFINE_float("teacher_scale", _DISTILL.teacher_scale, "Multiplies the teacher's logits.")
  flags.DEFINE_integer("augment_multiplier", _AUGMENT.multiplier,
                       "augmented: variants per sentence.")
  flags.DEFINE_enum("augment_source", AUGMENT_SOURCES[0], AUGMENT_SOURCES,
                    "augmented: what pqrnn-augment varies: the labeled part, or every "
                    "training text (labeled + unlabeled: more text for the teacher).")
  flags.DEFINE_list("augment_operations", list(_AUGMENT.operations),
                    "augmented: pqrnn-augment's operations (an ablation: one at a time).")
  flags.DEFINE_integer("logit_shard_size", 0, "Teacher logits in shards of this many "
                       "texts (pqrnn-teacher logits --shard_size), which the distilled "
                       "students stream (--teacher_logits=DIR); 0: one .npz "
                       "file, loaded whole.", lower_bound=0)
  flags.DEFINE_list("teacher_args", [], "Extra `pqrnn-teacher train` flags, e.g. "
                    "min_steps=600 (the run directory's name records them).")
  flags.DEFINE_bool("only_finished", False, "Tabulate what exists; run nothing.")


# ---------------------------------------------------------------- stages


def ensure(path: str, module: str, *args: str) -> str:
  """Runs the command unless `path` exists or --only_finished; returns `path`."""
  return path if FLAGS.only_finished else commands.ensure(path, module, *args)


def split_labeled(train: Sequence, fraction: float, seed: int) -> tuple[list, list]:
  """(labeled, unlabeled): a seeded random `fraction` of `train`, in file order, and the rest."""
  if not 0 < fraction <= 1:
    raise ValueError(f"--label_fraction must be in (0, 1], got {fraction}")
  count = max(1, round(fraction * len(train)))
  chosen = set(np.random.default_rng(seed).permutation(len(train))[:count].tolist())
  return ([e for i, e in enumerate(train) if i in chosen],
          [e for i, e in enumerate(train) if i not in chosen])


def write_data(work_dir: str) -> dict[str, str]:
  """Writes the split files (once); returns their paths and sizes."""
  from pqrnn_tf.data import datasets, readers  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.data.examples import Example  # pylint: disable=g-import-not-at-top
  data_dir = os.path.join(work_dir, "data")
  paths = {name: os.path.join(data_dir, f"{name}.jsonl")
           for name in ("labeled", "alone", "texts", "dev", "test")}
  if all(os.path.exists(p) for p in paths.values()):
    return paths
  os.makedirs(data_dir, exist_ok=True)
  splits = datasets.read_splits(FLAGS.task)
  labeled, unlabeled = split_labeled(splits["train"], FLAGS.label_fraction, FLAGS.split_seed)
  repeats = max(1, round(len(splits["train"]) / len(labeled)))
  readers.write_jsonl(labeled, paths["labeled"])
  readers.write_jsonl(labeled * repeats, paths["alone"])
  readers.write_jsonl([Example(e.text) for e in labeled + unlabeled], paths["texts"])
  readers.write_jsonl(splits["dev"], paths["dev"])
  readers.write_jsonl(splits["test"], paths["test"])
  print(f"{FLAGS.task}: {len(labeled)} labeled (x{repeats} for the student alone) + "
        f"{len(unlabeled)} unlabeled training sentences", flush=True)
  return paths


def teacher_logits(teacher_dir: str, texts: str, stem: str) -> str:
  """The teacher's logits of `texts`: `stem`.npz, or with --logit_shard_size
  the directory `stem`_shards<N>/ of shards and index.json (run every time:
  the command resumes, keeping finished shards); returns what pqrnn-train
  --teacher_logits takes (a directory: its index.json is checked)."""
  args = (f"--model_dir={teacher_dir}", f"--input={texts}")
  if not FLAGS.logit_shard_size:
    return ensure(stem + ".npz", "pqrnn_tf.teacher.cli", "logits", *args,
                  f"--output={stem}.npz")
  shards = f"{stem}_shards{FLAGS.logit_shard_size}"
  if not FLAGS.only_finished:
    commands.run("pqrnn_tf.teacher.cli", "logits", *args, f"--output={shards}",
                 f"--shard_size={FLAGS.logit_shard_size}")
  return shards


def teacher(work_dir: str, data: dict[str, str]) -> dict[str, str]:
  """Trains the teacher on the labeled part; its logits of the training texts."""
  suffix = "".join(f"_{a.replace('=', '')}" for a in FLAGS.teacher_args)
  teacher_dir = os.path.join(work_dir, "teacher" + suffix)
  ensure(os.path.join(teacher_dir, METRICS_FILE), "pqrnn_tf.teacher.cli", "train",
         f"--train_file={data['labeled']}", f"--eval_file={data['dev']}",
         f"--test_file={data['test']}", f"--model_dir={teacher_dir}",
         *[f"--{a}" for a in FLAGS.teacher_args])
  logits = teacher_logits(teacher_dir, data["texts"], os.path.join(teacher_dir, "logits_train"))
  files = {"dir": teacher_dir, "logits": logits}
  if "augmented" in FLAGS.students:
    stem = os.path.join(work_dir, "data", "augmented" + flag_augment_suffix(every=True))
    variants = ensure(stem + ".jsonl", "pqrnn_tf.data.augment_cli",
                      f"--train_file={data[FLAGS.augment_source]}", f"--output={stem}.jsonl",
                      f"--multiplier={FLAGS.augment_multiplier}",
                      f"--operations={','.join(FLAGS.augment_operations)}",
                      f"--seed={FLAGS.split_seed}")
    files["augmented"] = teacher_logits(teacher_dir, variants, stem + ".teacher")
  return files


def settings_suffix(epochs: int, patience: int, temperature: float, hard_weight: float,
                    teacher_scale: float, distilled: bool = True, shard_size: int = 0) -> str:
  """The settings that differ from the defaults, as a run-directory suffix
  (e.g. "_e40_T4", "_shards1000"): a student alone has no distillation settings."""
  parts = [f"e{epochs}" if epochs != _EPOCHS else "",
           f"p{patience}" if patience != _PATIENCE else ""]
  if distilled:
    parts += [f"T{temperature:g}" if temperature != _DISTILL.temperature else "",
              f"h{hard_weight:g}" if hard_weight != _DISTILL.hard_weight else "",
              f"k{teacher_scale:g}" if teacher_scale != _DISTILL.teacher_scale else "",
              f"shards{shard_size}" if shard_size else ""]
  return "".join(f"_{p}" for p in parts if p)


def augment_suffix(operations: Sequence[str], multiplier: int = _AUGMENT.multiplier,
                   source: str = AUGMENT_SOURCES[0], every: bool = False) -> str:
  """The augmentation settings that differ from the defaults, as a name suffix
  (e.g. "_x8_mask_texts"); `every` names them all (the variants' file names)."""
  parts = [f"x{multiplier}" if every or multiplier != _AUGMENT.multiplier else "",
           "" if set(operations) == set(_AUGMENT.operations) else "-".join(operations),
           source if source != AUGMENT_SOURCES[0] else ""]
  return "".join(f"_{p}" for p in parts if p)


def flag_augment_suffix(every: bool = False) -> str:
  """`augment_suffix` of the flags."""
  return augment_suffix(FLAGS.augment_operations, FLAGS.augment_multiplier,
                        FLAGS.augment_source, every)


def flag_settings(distilled: bool = True) -> str:
  """`settings_suffix` of the flags."""
  return settings_suffix(FLAGS.epochs, FLAGS.patience, FLAGS.temperature, FLAGS.hard_weight,
                         FLAGS.teacher_scale, distilled, FLAGS.logit_shard_size)


def run_prefix(name: str) -> str:
  """A student's run-directory name without its seed: the student, the settings
  that differ from the defaults, and the preset."""
  distilled = name != "alone"
  augmented = flag_augment_suffix() if name == "augmented" else ""
  return f"{name}{augmented}{flag_settings(distilled)}_{preset_label(FLAGS.preset)}"


def student_dir(work_dir: str, prefix: str, seed: int) -> str:
  return os.path.join(work_dir, "students", f"{prefix}_s{seed}")


def int8_path(work_dir: str, prefix: str, seed: int) -> str:
  """A student's int8 model, in its run directory."""
  return os.path.join(student_dir(work_dir, prefix, seed), INT8_MODEL)


def table_seeds(work_dir: str, prefix: str, seeds: Sequence[int]) -> list[int]:
  """`seeds`, plus every other seed of the same run whose int8 model exists: a
  run of one more seed tabulates all the finished ones, not that seed alone."""
  students = os.path.join(work_dir, "students")
  names = os.listdir(students) if os.path.isdir(students) else []
  finished = set()
  for name in names:
    seed = name.removeprefix(prefix + "_s")
    if seed != name and seed.isdigit() and os.path.exists(int8_path(work_dir, prefix, int(seed))):
      finished.add(int(seed))
  return sorted(finished | set(seeds))


def student(work_dir: str, name: str, seed: int, data: dict[str, str],
            teacher_files: dict[str, str]) -> str:
  """Trains and exports one student; returns its int8 .tflite path."""
  distilled = name != "alone"
  prefix = run_prefix(name)
  model_dir = student_dir(work_dir, prefix, seed)
  args = [f"--train_file={data['labeled' if distilled else 'alone']}",
          f"--eval_file={data['dev']}", f"--test_file={data['test']}", "--model=pqrnn",
          f"--preset={FLAGS.preset}", f"--seed={seed}", f"--epochs={FLAGS.epochs}",
          f"--patience={FLAGS.patience}", f"--plateau_decay={_PLATEAU_DECAY}",
          f"--model_dir={model_dir}"]
  if distilled:
    logits = [teacher_files["logits"]] + ([teacher_files["augmented"]]
                                          if name == "augmented" else [])
    args += [f"--teacher_logits={','.join(logits)}", f"--temperature={FLAGS.temperature}",
             f"--hard_weight={FLAGS.hard_weight}", f"--teacher_scale={FLAGS.teacher_scale}"]
  ensure(os.path.join(model_dir, METRICS_FILE), "pqrnn_tf.train.cli", *args)
  tflite = int8_path(work_dir, prefix, seed)
  return ensure(tflite, "pqrnn_tf.export.cli", f"--model_dir={model_dir}",
                f"--output={tflite}", "--quantization=int8")


# ---------------------------------------------------------------- the table


def metric_keys(test: dict) -> tuple[str, ...]:
  """The metrics a task has (classification-only data have no slot F1)."""
  from pqrnn_tf.metrics import HEADLINE_METRICS  # pylint: disable=g-import-not-at-top
  return tuple(k for k in HEADLINE_METRICS if test.get(k) is not None)


def teacher_row(teacher_dir: str) -> dict:
  with open(os.path.join(teacher_dir, METRICS_FILE)) as f:
    metrics = json.load(f)
  weights = os.path.join(teacher_dir, "model")
  size = sum(os.path.getsize(os.path.join(root, name))
             for root, _, names in os.walk(weights) for name in names
             if name.endswith((".safetensors", ".bin", ".pt")))
  return {"name": TEACHER_NAME, "bytes": size, "seeds": [0], "test": [metrics["test"]],
          "train_minutes": metrics.get("train_minutes")}


def student_row(name: str, tflites: list[tuple[int, str]], test_examples) -> dict | None:
  """Each seed's int8 test metrics (in LiteRT) and its Keras metrics."""
  from pqrnn_tf.export import verify  # pylint: disable=g-import-not-at-top (TF is slow to import)
  done = [(seed, path) for seed, path in tflites if os.path.exists(path)]
  if not done:
    return None
  row = {"name": f"{STUDENTS[name]} (int8)", "student": name, "bytes": 0, "seeds": [],
         "test": [], "keras_test": []}
  for seed, path in done:
    with open(os.path.join(os.path.dirname(path), METRICS_FILE)) as f:
      keras_metrics = json.load(f)
    row["seeds"].append(seed)
    row["bytes"] = os.path.getsize(path)
    row["test"].append(verify.tflite_score(path, test_examples))
    row["keras_test"].append(keras_metrics["test"])
  return row


def summarize(rows: list[dict]) -> list[dict]:
  """Adds mean, spread, % of teacher and gap closed (vs the 'alone' row) to each row."""
  keys = metric_keys(rows[0]["test"][0])
  for r in rows:
    values = {k: [100 * t[k] for t in r["test"]] for k in keys}
    r["mean"] = {k: float(np.mean(v)) for k, v in values.items()}
    r["std"] = {k: float(np.std(v)) for k, v in values.items()}
  teacher, alone = rows[0], next((r for r in rows if r.get("student") == "alone"), None)
  for r in rows[1:]:
    r["of_teacher"] = {k: 100 * r["mean"][k] / teacher["mean"][k] for k in keys}
    r["teacher_over_student_bytes"] = teacher["bytes"] / r["bytes"]
    if alone is not None and r is not alone:
      r["gap_closed"] = {k: (100 * (r["mean"][k] - alone["mean"][k])
                             / (teacher["mean"][k] - alone["mean"][k])
                             if teacher["mean"][k] != alone["mean"][k] else None)
                         for k in keys}
  return rows


def markdown(rows: list[dict]) -> str:
  keys = metric_keys(rows[0]["test"][0])
  names = {"intent_accuracy": "intent acc", "slot_f1": "slot F1", "exact_match": "exact match"}
  head = ["model", "seeds", *[names[k] for k in keys], "% of teacher", "gap closed",
          "size", "teacher / student"]
  lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
  for r in rows:
    cells = [r["name"], str(len(r["seeds"]))]
    cells += [f"{r['mean'][k]:.2f} ± {r['std'][k]:.2f}" if len(r["seeds"]) > 1
              else f"{r['mean'][k]:.2f}" for k in keys]
    of = r.get("of_teacher")
    cells.append(" / ".join(f"{of[k]:.1f}" for k in keys) if of else "")
    gap = r.get("gap_closed")
    cells.append(" / ".join("n/a" if gap[k] is None else f"{gap[k]:.0f}%" for k in keys)
                 if gap else "")
    cells.append(f"{r['bytes'] / 1e6:.2f} MB" if r["bytes"] >= 1e6
                 else f"{r['bytes'] / 1e3:.0f} KB")
    ratio = r.get("teacher_over_student_bytes")
    cells.append(f"{ratio:.0f}x" if ratio else "")
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


def main(argv) -> None:
  del argv
  from pqrnn_tf.data import readers  # pylint: disable=g-import-not-at-top
  unknown = sorted(set(FLAGS.students) - set(STUDENTS))
  if unknown:
    raise app.UsageError(f"--students: unknown {unknown}; choose from {list(STUDENTS)}")
  seeds = [int(s) for s in FLAGS.seeds]
  work_dir = os.path.join(FLAGS.runs_dir,
                          f"{FLAGS.task}_f{FLAGS.label_fraction:g}_split{FLAGS.split_seed}")
  data = write_data(work_dir)
  teacher_files = teacher(work_dir, data)
  tflites = {}
  for name in FLAGS.students:
    for seed in seeds:
      student(work_dir, name, seed, data, teacher_files)
    prefix = run_prefix(name)
    tflites[name] = [(seed, int8_path(work_dir, prefix, seed))
                     for seed in table_seeds(work_dir, prefix, seeds)]
  test_examples = readers.read_examples(data["test"])
  rows = [teacher_row(teacher_files["dir"])]
  rows += [r for name in FLAGS.students
           if (r := student_row(name, tflites[name], test_examples)) is not None]
  rows = summarize(rows)
  augmented = ("augmented" in FLAGS.students and flag_augment_suffix()) or ""
  preset_suffix = "" if FLAGS.preset == DEFAULT_PRESET else "_" + preset_label(FLAGS.preset)
  stem = os.path.join(FLAGS.output_dir, f"distillation_{FLAGS.task}_f{FLAGS.label_fraction:g}"
                      f"{flag_settings()}{augmented}{preset_suffix}")
  os.makedirs(FLAGS.output_dir, exist_ok=True)
  settings = {k: FLAGS[k].value for k in (
      "task", "label_fraction", "split_seed", "preset", "epochs", "patience", "temperature",
      "hard_weight", "teacher_scale", "augment_multiplier", "augment_operations", "augment_source",
      "logit_shard_size", "teacher_args")}
  with open(stem + ".json", "w") as f:
    json.dump({provenance.KEY: provenance.measured(PROGRAM), "settings": settings,
               "rows": rows}, f, indent=2)
  table = markdown(rows)
  with open(stem + ".md", "w") as f:
    f.write(table + "\n")
  print(f"\n{FLAGS.task} test set, {FLAGS.label_fraction:g} of the training split labeled "
        f"(student {preset_label(FLAGS.preset)}; % of teacher and gap closed per metric):\n\n{table}")


if __name__ == "__main__":
  define_flags()
  app.run(main)
