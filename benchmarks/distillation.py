"""Distillation ablation on ATIS (a benchmark, not a test).

  python -m benchmarks.distillation --teacher_dir=runs/teacher --runs_dir=runs/distillation

Every stage runs the toolkit's own commands and is skipped when its output
exists, so an interrupted run resumes and the table can be rebuilt cheaply:
  1. teacher: `pqrnn-teacher train` (unless --teacher_dir has metrics.json),
     then its logits on the ATIS training split;
  2. augmentation: `pqrnn-augment`, then the teacher's logits of the variants;
  3. students, same preset and seed: "plain" (gold labels only), "distilled"
     (teacher logits of the training data), "distilled + augmented" (plus the
     teacher-labeled variants); each trained by `pqrnn-train` and exported to
     int8 by `pqrnn-export`;
  4. the table: ATIS test metrics of each student's int8 TFLite model (run in
     LiteRT), as % of the teacher's, and the teacher's size over the student's.
Writes distillation.json and distillation.md to --output_dir.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from absl import app, flags

from pqrnn_tf.data import teacher_logits as logits_format

FLAGS = flags.FLAGS
METRICS = ("intent_accuracy", "slot_f1", "exact_match")
STUDENTS = {"plain": "student, gold labels only",
            "distilled": "student, distilled",
            "distilled_augmented": "student, distilled + augmented"}


def define_flags() -> None:
  flags.DEFINE_string("teacher_dir", "runs/teacher", "A pqrnn-teacher model_dir "
                      "(trained here if it has no metrics.json).")
  flags.DEFINE_string("runs_dir", "runs/distillation", "Student runs and data files.")
  flags.DEFINE_string("output_dir", "out/benchmarks", "Where the table goes.")
  flags.DEFINE_string("preset", "pqrnn_base", "Student preset.")
  flags.DEFINE_integer("seed", 0, "Student seed.")
  flags.DEFINE_integer("epochs", 30, "Student epochs (at most; early stopping). The "
                       "student with augmented data gets proportionally fewer, so "
                       "every student gets the same number of training steps.")
  flags.DEFINE_integer("augment_multiplier", 2, "Variants per training utterance.")
  flags.DEFINE_float("temperature", 2.0, "Distillation temperature.")
  flags.DEFINE_float("hard_weight", 0.5, "Weight of the gold-label loss.")
  flags.DEFINE_list("students", list(STUDENTS), "Which students to train.")
  flags.DEFINE_bool("only_finished", False, "Tabulate what exists; run nothing.")


def run(module: str, *args: str) -> None:
  """`python -m module args` (a toolkit command), failing loudly."""
  cmd = [sys.executable, "-m", module, *args]
  print("$", " ".join(cmd), flush=True)
  subprocess.run(cmd, check=True)


def ensure(path: str, module: str, *args: str) -> str:
  """Runs the command unless `path` exists; returns `path`."""
  if not os.path.exists(path) and not FLAGS.only_finished:
    run(module, *args)
  return path


def teacher_files() -> dict[str, str]:
  """The teacher's logits of the training data and of the augmented variants."""
  teacher = FLAGS.teacher_dir
  ensure(os.path.join(teacher, "metrics.json"), "pqrnn_tf.teacher.cli", "train",
         "--dataset=atis", f"--model_dir={teacher}")
  train_logits = ensure(os.path.join(teacher, "logits_train.npz"), "pqrnn_tf.teacher.cli",
                        "logits", f"--model_dir={teacher}", "--dataset=atis",
                        "--split=train", f"--output={os.path.join(teacher, 'logits_train.npz')}")
  stem = os.path.join(FLAGS.runs_dir, f"augmented_x{FLAGS.augment_multiplier}")
  variants = ensure(stem + ".jsonl", "pqrnn_tf.data.augment_cli", "--dataset=atis",
                    f"--output={stem}.jsonl", f"--multiplier={FLAGS.augment_multiplier}",
                    f"--seed={FLAGS.seed}")
  augmented_logits = ensure(stem + ".teacher.npz", "pqrnn_tf.teacher.cli", "logits",
                            f"--model_dir={teacher}", f"--input={variants}",
                            f"--output={stem}.teacher.npz")
  return {"train": train_logits, "augmented": augmented_logits}


def student(name: str, logits: dict[str, str]) -> str:
  """Trains and exports one student; returns its int8 .tflite path."""
  model_dir = os.path.join(FLAGS.runs_dir, f"{name}_{FLAGS.preset}_s{FLAGS.seed}")
  teacher_logits = {"plain": [], "distilled": [logits["train"]],
                    "distilled_augmented": [logits["train"], logits["augmented"]]}[name]
  epochs = FLAGS.epochs
  if name == "distilled_augmented":
    train_size = len(logits_format.load_teacher_logits(logits["train"]))
    extra = len(logits_format.load_teacher_logits(logits["augmented"]))
    epochs = max(1, round(FLAGS.epochs * train_size / (train_size + extra)))
  args = ["--dataset=atis", "--model=pqrnn", f"--preset={FLAGS.preset}",
          f"--seed={FLAGS.seed}", f"--epochs={epochs}", f"--model_dir={model_dir}"]
  if teacher_logits:
    args += [f"--teacher_logits={','.join(teacher_logits)}",
             f"--temperature={FLAGS.temperature}", f"--hard_weight={FLAGS.hard_weight}"]
  ensure(os.path.join(model_dir, "metrics.json"), "pqrnn_tf.train.cli", *args)
  tflite = os.path.join(model_dir, "model_int8.tflite")
  return ensure(tflite, "pqrnn_tf.export.cli", f"--model_dir={model_dir}",
                f"--output={tflite}", "--quantization=int8")


def teacher_row() -> dict:
  with open(os.path.join(FLAGS.teacher_dir, "metrics.json")) as f:
    metrics = json.load(f)
  weights = os.path.join(FLAGS.teacher_dir, "model")
  size = sum(os.path.getsize(os.path.join(root, name))
             for root, _, names in os.walk(weights) for name in names
             if name.endswith((".safetensors", ".bin", ".pt")))
  return {"name": "teacher (all-MiniLM-L6-v2, fp32)", "bytes": size,
          "test": {k: metrics["test"][k] for k in METRICS}}


def markdown(rows: list[dict]) -> str:
  teacher = rows[0]
  lines = ["| model | intent acc | slot F1 | exact match | % of teacher (intent / F1 / EM) "
           "| size | teacher / student size |", "|---|---|---|---|---|---|---|"]
  for r in rows:
    t = r["test"]
    ratio = " / ".join(f"{100 * t[k] / teacher['test'][k]:.1f}" for k in METRICS)
    lines.append(f"| {r['name']} | " + " | ".join(f"{100 * t[k]:.2f}" for k in METRICS)
                 + f" | {ratio} | {r['bytes'] / 1e6:.2f} MB | "
                 f"{teacher['bytes'] / r['bytes']:.0f}x |")
  return "\n".join(lines)


def main(argv) -> None:
  del argv
  from pqrnn_tf.data import readers  # pylint: disable=g-import-not-at-top (TF is slow to import)
  from pqrnn_tf.export import verify  # pylint: disable=g-import-not-at-top
  os.makedirs(FLAGS.runs_dir, exist_ok=True)
  logits = teacher_files()
  rows = [teacher_row()]
  for name in FLAGS.students:
    tflite = student(name, logits)
    if os.path.exists(tflite):
      keras_metrics = json.load(open(os.path.join(os.path.dirname(tflite), "metrics.json")))
      rows.append({"name": f"{STUDENTS[name]} (int8 TFLite)", "bytes": os.path.getsize(tflite),
                   "test": verify.tflite_score(tflite, readers.read_atis("test")),
                   "keras_test": {k: keras_metrics["test"][k] for k in METRICS}})
  os.makedirs(FLAGS.output_dir, exist_ok=True)
  with open(os.path.join(FLAGS.output_dir, "distillation.json"), "w") as f:
    json.dump({"flags": {k: FLAGS[k].value for k in (
        "preset", "seed", "epochs", "augment_multiplier", "temperature", "hard_weight")},
               "rows": rows}, f, indent=2)
  table = markdown(rows)
  with open(os.path.join(FLAGS.output_dir, "distillation.md"), "w") as f:
    f.write(table + "\n")
  print(f"\nATIS test set ({FLAGS.preset}, seed {FLAGS.seed}):\n\n{table}")


if __name__ == "__main__":
  define_flags()
  app.run(main)
