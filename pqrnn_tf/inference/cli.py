"""pqrnn-predict: intents and slots of raw texts, from an exported `.tflite` model.

  pqrnn-predict --model=out/atis_int8.tflite "flights from boston to denver"
  pqrnn-predict --model=out/atis_int8.tflite --input=texts.txt > predictions.jsonl
  echo "book a flight to dallas" | pqrnn-predict --model=out/atis_int8.tflite --format=table

Texts come from the positional arguments, else from --input (one text per
line, split on "\\n" only), else from stdin (likewise). Prints one JSON object
per text (`Prediction.to_dict`: intent, top_k, tokens with tags, slots with
character offsets into the text), or with --format=table a table for people.
Runs in LiteRT without importing TensorFlow. A missing or unreadable model
prints `pqrnn-predict: <path>: <problem>` and exits with status 2.
"""
from __future__ import annotations

import json
import os
import sys
from typing import BinaryIO, Sequence

from absl import app, flags

from pqrnn_tf import cli_errors
from pqrnn_tf.inference import decoding, predictor as predictor_lib

FLAGS = flags.FLAGS
PROGRAM = "pqrnn-predict"
FORMATS = ("jsonl", "table")


def define_flags() -> None:
  flags.DEFINE_string("model", None, "A .tflite file written by pqrnn-export.")
  flags.DEFINE_string("input", None, "A UTF-8 file of texts, one per line (default: "
                      "the positional arguments, else stdin).")
  flags.DEFINE_enum("format", "jsonl", list(FORMATS), "jsonl: one JSON object per "
                    "text; table: aligned columns for people.")
  flags.DEFINE_integer("top_k", 3, "How many intents to list per text.", lower_bound=0)
  flags.DEFINE_integer("batch_size", 32, "Texts per invoke.", lower_bound=1)
  flags.DEFINE_enum("runtime", "litert", list(predictor_lib.RUNTIMES),
                    "litert (ai_edge_litert) or tf (tf.lite; imports TensorFlow).")
  flags.mark_flag_as_required("model")


def split_lines(content: str) -> list[str]:
  """Texts of an input file: its lines, split on "\\n" only.

  Only "\\n" ends a text (a "\\r" or Unicode line separator stays in it, and
  the model treats it as whitespace); a final "\\n" ends the last text.
  """
  lines = content.split("\n")
  return lines[:-1] if lines and lines[-1] == "" else lines


def read_texts(args: Sequence[str], input_path: str | None, stdin: BinaryIO) -> list[str]:
  """The texts to predict: `args`, else the lines of `input_path`, else of `stdin`.

  Files and stdin are read as bytes and decoded as UTF-8, so no newline
  translation ("\r\n" -> "\n") happens before `split_lines`.
  """
  if args:
    return list(args)
  if input_path:
    with open(input_path, "rb") as f:
      return split_lines(f.read().decode("utf-8"))
  return split_lines(stdin.read().decode("utf-8"))


# json.dumps(ensure_ascii=False) leaves these line breaks raw; escaped, every
# output line is one record even for readers that split on them
# (str.splitlines, JavaScript).
_RAW_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def json_line(prediction: decoding.Prediction) -> str:
  """One JSON Lines record (UTF-8 text kept readable, line breaks escaped)."""
  return json.dumps(prediction.to_dict(), ensure_ascii=False).translate(_RAW_LINE_BREAKS)


def format_table(predictions: Sequence[decoding.Prediction]) -> str:
  """One block per text: intent and top-k, then each slot with its offsets."""
  blocks = []
  for p in predictions:
    lines = [f"text    {p.text!r}"]
    lines.append(f"intent  {p.intent}  {p.intent_probability:.3f}")
    others = "  ".join(f"{label} {prob:.3f}" for label, prob in p.top_k[1:])
    if others:
      lines.append(f"        {others}")
    width = max([len(s.type) for s in p.slots] + [4])
    for s in p.slots:
      lines.append(f"slot    {s.type:<{width}}  {s.start:>3}:{s.end:<3}  {s.score:.3f}  "
                   f"{s.text!r}")
    blocks.append("\n".join(lines))
  return "\n\n".join(blocks) + ("\n" if blocks else "")


# INFO lines of the native runtimes: absl's ("I0000 00:00:1796165228.516973
# 5038 port.cc:153] ..."), its notice that logging is not initialized, and
# TFLite's "INFO: ...".
def fail(path: str, problem: str) -> None:
  """Prints `pqrnn-predict: <path>: <problem>` to stderr and exits with status 2."""
  problem = problem.strip().splitlines()[0] if problem.strip() else "cannot be used"
  # Exceptions about the model already start with its path.
  if problem.startswith(f"{path}: "):
    problem = problem[len(path) + 2:]
  cli_errors.fail(PROGRAM, f"{path}: {problem}")


def main(argv: Sequence[str]) -> None:
  texts_args = list(argv[1:])
  if texts_args and FLAGS.input:
    raise app.UsageError("Give texts as arguments or --input, not both.")
  try:
    with cli_errors.quiet_native_logs():
      predictor = predictor_lib.TflitePredictor(
          FLAGS.model, runtime=FLAGS.runtime, batch_size=FLAGS.batch_size, top_k=FLAGS.top_k)
  except FileNotFoundError as e:
    fail(FLAGS.model, str(e) if os.path.isfile(FLAGS.model) else "no such model file")
  except (predictor_lib.ModelError, ValueError, OSError) as e:
    fail(FLAGS.model, str(e))
  try:
    texts = read_texts(texts_args, FLAGS.input, sys.stdin.buffer)
  except UnicodeDecodeError as e:
    line = e.object[:e.start].count(b"\n") + 1
    fail(f"{FLAGS.input or '<stdin>'}:{line}", f"not UTF-8 ({e.reason})")
  except OSError as e:
    fail(FLAGS.input or "<stdin>", e.strerror or str(e))
  predictions = predictor.predict(texts)
  if FLAGS.format == "table":
    sys.stdout.write(format_table(predictions))
  else:
    for p in predictions:
      sys.stdout.write(json_line(p) + "\n")


def run() -> None:
  cli_errors.run(PROGRAM, define_flags, main)


if __name__ == "__main__":
  run()
