"""pqrnn-export: a trained model -> TFLite that takes raw strings, verified.

  pqrnn-export --model_dir=runs/atis --output=out/atis_int8.tflite --quantization=int8
  pqrnn-export --model_dir=runs/atis --output=out/atis_portable.tflite --portable

With --portable the model is builtin ops only, for every stock runtime (LiteRT
in Play services, Java, LiteRT.js, delegates); it takes the projection's
features, computed by the app (custom_ops/README.md, "Portable models"), and
carries the projection settings beside its labels.

Writes the model, its label files (`<name>.intents.txt`, `<name>.slots.txt`,
one label per line in output order) and `<name>.export.json` (sizes, ops,
agreement with the Keras model on the dev data), all or nothing: they are
written to temporary files beside --output and renamed into place only after
verification passes. If intent agreement is below --min_agreement nothing is
written (an older export at --output stays as it was) and the exit status is 1.

An --output that cannot be written, is a directory or is one of the run's
files, a missing --model_dir or unreadable data print `pqrnn-export: <problem>`
and exit with status 2 before any model is loaded.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile

import pqrnn_tf  # noqa: F401
from absl import flags

from pqrnn_tf import cli_errors, run_dir
from pqrnn_tf.cli_errors import UserError, same_file
from pqrnn_tf.data import data_flags, readers
from pqrnn_tf.data.examples import LabelVocab
from pqrnn_tf.export import converter, verify
from pqrnn_tf.export import portable as portable_export
from pqrnn_tf.export import metadata as model_metadata
from pqrnn_tf.inference import metadata, portable

FLAGS = flags.FLAGS
PROGRAM = "pqrnn-export"


def define_flags() -> None:
  flags.DEFINE_string("model_dir", None, "A directory written by pqrnn-train.")
  flags.DEFINE_string("output", None, "The .tflite file to write.")
  flags.DEFINE_enum("quantization", "int8", list(converter.QUANTIZATIONS), "Quantization.")
  data_flags.define("eval_file", eval_file="Verification data, labeled (default: the "
                    "training run's dev data, e.g. ATIS dev for --dataset=atis).")
  flags.DEFINE_integer("num_calibration", 300, "Training sentences used for int8 calibration.",
                       lower_bound=1)
  flags.DEFINE_float("min_agreement", 0.99, "Refuse below this intent agreement with Keras.",
                     lower_bound=0.0, upper_bound=1.0)
  flags.DEFINE_bool("qat", False, "Export the quantization-aware model (trained with "
                    "pqrnn-train --qat_epochs) instead of the float one; agreement is "
                    "then measured against the QAT Keras model.")
  flags.DEFINE_bool("portable", False, "Write a model of builtin ops only, whose input "
                    "is the projection's output (computed by the app; settings inside the "
                    "model), one signature per length bucket. Runs in any stock LiteRT "
                    "runtime; pQRNN models only.")
  flags.DEFINE_list("buckets", None, "With --portable: the padded lengths of its "
                    "signatures, e.g. 16,64,512 (default: 16, 32, 64, ... up to the "
                    "model's max_tokens + BOS + EOS rows). Each bucket adds about 80 KB "
                    "to a pqrnn_base model; fewer buckets pad more.")
  flags.mark_flags_as_required(["model_dir", "output"])


def load_config(model_dir: str, use_qat: bool) -> run_dir.TrainConfig:
  """The run's config; raises UserError if `model_dir` holds no (QAT) model."""
  path = os.path.join(model_dir, run_dir.CONFIG_FILE)
  if not os.path.isfile(path):
    raise UserError(f"--model_dir={model_dir}: no {run_dir.CONFIG_FILE}; give a "
                    f"directory written by pqrnn-train")
  qat_weights = os.path.join(model_dir, run_dir.QAT_DIR, run_dir.BEST_WEIGHTS + ".index")
  if use_qat and not os.path.exists(qat_weights):
    raise UserError(f"--qat: {model_dir} has no quantization-aware model ({qat_weights}); "
                    f"train with pqrnn-train --qat_epochs")
  return run_dir.TrainConfig.load(path)


def check_output(output: str, model_dir: str, inputs: list[str]) -> dict[str, str]:
  """The files an export to `output` writes: {"model", "intents", "slots",
  "report"}. Raises UserError if one is a directory or one of the run's files
  (or of `inputs`), or if their directory cannot be created or written."""
  paths = {"model": output, **verify.label_paths(output)}
  run_files = [os.path.join(root, name) for root, _, names in os.walk(model_dir)
               for name in names]
  for path in paths.values():
    if os.path.isdir(path):
      raise UserError(f"--output={output}: {path} is a directory")
    clash = next((f for f in run_files + inputs if same_file(path, f)), None)
    if clash:
      raise UserError(f"--output={output} would overwrite {clash}, an input of the "
                      f"export (--model_dir={model_dir} or its data); give another --output")
  cli_errors.check_writable(os.path.dirname(os.path.abspath(output)), f"--output={output}")
  return paths


def data_for(config: run_dir.TrainConfig):
  """(calibration texts, verification examples): the training run's train split,
  and --eval_file or else the run's dev split."""
  train = data_flags.read_recorded(config.data, "train")
  dev = (readers.read_labeled_examples(FLAGS.eval_file) if FLAGS.eval_file
         else data_flags.read_recorded(config.data, "dev"))
  return [e.text for e in train[:FLAGS.num_calibration]], dev


def bucket_lengths(values: list[str] | None) -> list[int] | None:
  """The --buckets lengths; UserError unless they are positive integers."""
  if values is None:
    return None
  if not FLAGS.portable:
    raise UserError("--buckets is for --portable exports")
  try:
    lengths = [int(v) for v in values]
  except ValueError:
    raise UserError(f"--buckets={','.join(values)}: give positive integers, "
                    f"e.g. 16,64,512") from None
  if not lengths or min(lengths) < 1:
    raise UserError(f"--buckets={','.join(values)}: give positive integers, e.g. 16,64,512")
  return lengths


class ExportRefused(Exception):
  """The exported model disagrees with the Keras model too often."""

  def __init__(self, report: dict):
    super().__init__(f"intent agreement {report['verification']['intent_agreement']:.4f}")
    self.report = report


def write_verified(paths: dict[str, str], flatbuffer: bytes, intents: LabelVocab,
                   tags: LabelVocab | None, verify_model, min_agreement: float,
                   report: dict) -> dict:
  """Writes the export to `paths` if it passes verification; returns the report.

  Every file goes to a temporary file beside its target first, and
  `verify_model(temporary .tflite path)` gives the verification. Below
  `min_agreement`, or on any failure, the temporaries are removed and nothing
  at `paths` changes (ExportRefused on a low agreement). Otherwise an old model
  at paths["model"] is removed, the labels (a stale slots file too) and the
  report are renamed into place, and the model last: a model never sits
  beside another model's labels.
  """
  directory = os.path.dirname(os.path.abspath(paths["model"]))
  temporaries = {}

  def write(key: str, data: bytes) -> None:
    fd, temporaries[key] = tempfile.mkstemp(
        dir=directory, prefix=f".{os.path.basename(paths[key])}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
      f.write(data)

  try:
    write("model", flatbuffer)
    write("intents", metadata.label_file_text(intents.labels).encode("utf-8"))
    if tags is not None:
      write("slots", metadata.label_file_text(tags.labels).encode("utf-8"))
    report = dict(report, verification=verify_model(temporaries["model"]))
    agreement = report["verification"]["intent_agreement"]
    if agreement < min_agreement:
      raise ExportRefused(report)
    write("report", json.dumps(report, indent=2).encode("utf-8"))
    with contextlib.suppress(FileNotFoundError):
      os.remove(paths["model"])  # no old model beside the new labels
    if "slots" not in temporaries:
      with contextlib.suppress(FileNotFoundError):
        os.remove(paths["slots"])  # left by an export of a model with slots
    for key in ("intents", "slots", "report", "model"):
      if key in temporaries:
        os.replace(temporaries.pop(key), paths[key])
  finally:
    for path in temporaries.values():
      with contextlib.suppress(OSError):
        os.remove(path)
  return report


def summary(report: dict) -> str:
  v = report["verification"]
  return (f"On {v['num_examples']} dev examples: intent agreement with Keras "
          f"{100 * v['intent_agreement']:.2f}%; change in " + ", ".join(
              f"{k} {100 * d:+.2f}" for k, d in v["delta"].items()))


def main(argv) -> None:
  del argv
  config = load_config(FLAGS.model_dir, FLAGS.qat)
  buckets = bucket_lengths(FLAGS.buckets)
  inputs = [FLAGS.eval_file, *(config.data.get(k) for k in ("train_file", "eval_file"))]
  paths = check_output(FLAGS.output, FLAGS.model_dir, [p for p in inputs if p])
  calibration, dev = data_for(config)
  model, _ = (run_dir.load_qat if FLAGS.qat else run_dir.load_trained)(FLAGS.model_dir)
  intents, tags = config.vocabs()
  metadata_args = {}
  try:
    if FLAGS.portable:
      flatbuffer, settings = portable_export.convert_portable(
          model, FLAGS.quantization, calibration, buckets=buckets)
      metadata_args = {"signature_key": portable.signature_key(settings["buckets"][0]),
                       "files": {portable.SETTINGS_FILE: json.dumps(settings, indent=1)}}
    else:
      flatbuffer = converter.convert(model, FLAGS.quantization, calibration)
  except converter.ExportError as e:
    raise UserError(str(e)) from None
  flatbuffer = model_metadata.add_metadata(
      flatbuffer, name=os.path.splitext(os.path.basename(FLAGS.output))[0],
      version=pqrnn_tf.__version__,
      description=config.model.description or f"pqrnn_tf {config.model.model} model",
      intent_labels=intents.labels, slot_labels=tags.labels if tags is not None else None,
      **metadata_args)
  report = {"quantization": FLAGS.quantization, "qat": FLAGS.qat, "portable": FLAGS.portable,
            "bytes": len(flatbuffer), "ops": dict(converter.op_counts(flatbuffer))}
  try:
    report = write_verified(
        paths, flatbuffer, intents, tags,
        lambda path: verify.compare(model, path, dev, intents, tags),
        FLAGS.min_agreement, report)
  except ExportRefused as e:
    print(summary(e.report))
    sys.exit(f"REFUSED: intent agreement {100 * e.report['verification']['intent_agreement']:.2f}%"
             f" is below --min_agreement={100 * FLAGS.min_agreement:.2f}%; nothing was "
             f"written to {FLAGS.output}.")
  print(f"Wrote {FLAGS.output} ({len(flatbuffer):,} bytes) and its labels.\n" + summary(report))


def run() -> None:
  cli_errors.run(PROGRAM, define_flags, main)


if __name__ == "__main__":
  run()
