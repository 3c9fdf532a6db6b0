"""The projection conformance command (custom_ops/README.md, "Conformance").

    python -m pqrnn_tf.inference.conformance SETTINGS.json < texts
    python -m pqrnn_tf.inference.conformance --reference=op SETTINGS.json < texts

SETTINGS.json is a portable model's `projection` object (missing keys take
the attribute table's defaults). Each stdin line (split on the byte "\\n"
only; its bytes exactly, invalid UTF-8 included; a last line without "\\n"
counts) gives one JSON line, formatted as `json.dumps` does by default:

    {"rows": 3, "features": "<base64 of rows * feature_size little-endian float32>",
     "spans": [[0, 4], [5, 9]]}

Without --reference, the Python runtime computes it (`Projector`; no
TensorFlow). --reference=op runs the TF op instead, and takes the spans from
an independent derivation: spec decoding in Python (each invalid byte one
U+FFFD) and `Tokenization.spans`; it also checks that the op's row count
agrees with them. Other implementations (Java, JavaScript) have the same
command; tests/test_projection_conformance.py requires equal output bytes.
"""
from __future__ import annotations

import base64
import codecs
import json
import sys
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
from absl import flags

from pqrnn_tf import cli_errors
from pqrnn_tf.cli_errors import UserError

PROGRAM = "pqrnn_tf.inference.conformance"
REFERENCES = ("runtime", "op")
FLAGS = flags.FLAGS

#: A decoding error handler that turns only the byte at the error into
#: U+FFFD and resumes at the next byte (section 1 of the spec). Python's own
#: "replace" gives one U+FFFD per maximal invalid subsequence instead (so one
#: for a truncated 3-byte sequence, where the spec has two).
_SPEC_ERRORS = "pqrnn_tf_one_replacement_per_byte"
codecs.register_error(_SPEC_ERRORS, lambda error: ("\ufffd", error.start + 1))


def define_flags() -> None:
  flags.DEFINE_enum("reference", "runtime", list(REFERENCES),
                    "runtime: the TensorFlow-free Python runtime "
                    "(pqrnn_tf.inference.projection); op: the TF op "
                    "(imports TensorFlow).")


def split_lines(data: bytes) -> list[bytes]:
  """The texts of `data`: split on b"\\n" only; a last line without it counts."""
  lines = data.split(b"\n")
  if lines[-1] == b"":
    lines.pop()
  return lines


def decode_with_offsets(data: bytes) -> tuple[str, list[int]]:
  """`data` decoded as the spec says, and the byte offset where each code
  point starts, plus len(data) at the end."""
  text = data.decode("utf-8", _SPEC_ERRORS)
  if len(text) == len(data):  # ASCII, or all invalid bytes: one byte each.
    return text, list(range(len(data) + 1))
  starts, position = [], 0
  for char in text:
    starts.append(position)
    code = ord(char)
    if code < 0x80:
      position += 1
    elif code < 0x800:
      position += 2
    elif code == 0xFFFD and data[position:position + 3] != b"\xef\xbf\xbd":
      position += 1  # An invalid byte.
    elif code < 0x10000:
      position += 3
    else:
      position += 4
  starts.append(position)
  assert position == len(data), "decode_with_offsets lost track of the bytes"
  return text, starts


def result_line(rows: int, features: np.ndarray, spans: Iterable[Sequence[int]]) -> bytes:
  """One output line: `features` are the text's first `rows` rows."""
  encoded = base64.b64encode(np.ascontiguousarray(features[:rows], "<f4").tobytes())
  span_text = ", ".join(f"[{int(start)}, {int(end)}]" for start, end in spans)
  return (f'{{"rows": {rows}, "features": "{encoded.decode("ascii")}", '
          f'"spans": [{span_text}]}}\n').encode("ascii")


def read_settings(path: str) -> dict[str, Any]:
  """The JSON object in the settings file `path` (a UserError naming it if not)."""
  try:
    with open(path, "rb") as f:
      raw = f.read()
  except OSError as e:
    raise UserError(f"{path}: cannot read the settings file ({e.strerror or e})") from None
  try:
    settings = json.loads(raw)
  except (UnicodeDecodeError, json.JSONDecodeError) as e:
    raise UserError(f"{path}: not a JSON file ({e})") from None
  if not isinstance(settings, dict):
    raise UserError(f"{path}: must hold a JSON object of projection attributes, "
                    f"got {type(settings).__name__}")
  return settings


def runtime_lines(settings: dict[str, Any], texts: Iterable[bytes],
                  where: str = "settings") -> Iterator[bytes]:
  """The output lines of the Python runtime (`Projector`, no TensorFlow)."""
  from pqrnn_tf.inference.projection import Projector  # pylint: disable=g-import-not-at-top
  projector = Projector.from_settings(settings, where=where, fill_defaults=True)
  for text in texts:
    features, lengths, spans = projector.project_with_spans([text])
    yield result_line(int(lengths[0]), features[0], spans[0])


def op_lines(settings: dict[str, Any], texts: Iterable[bytes],
             where: str = "settings") -> Iterator[bytes]:
  """The output lines of the TF op, with spans derived independently of the
  C++ core (`decode_with_offsets` and `Tokenization.spans`)."""
  with cli_errors.quiet_native_logs():  # TensorFlow's start-up lines.
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from pqrnn_tf import ops  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.data.tokens import Tokenization  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.inference.projection import TRAINING_ONLY_ATTRIBUTES  # pylint: disable=g-import-not-at-top

  allowed = sorted(set(ops.projection_defaults()) - set(TRAINING_ONLY_ATTRIBUTES))
  unknown = sorted(set(settings) - set(allowed))
  if unknown:
    raise UserError(f"{where}: unknown attribute(s) {unknown}; valid: {allowed}")

  def project(text: bytes):
    return ops.sequence_string_projection(tf.constant([text]), **settings)

  try:
    project(b"")
  except (tf.errors.OpError, TypeError, ValueError) as e:
    message = getattr(e, "message", None) or str(e)
    raise UserError(f"{where}: {message.strip().splitlines()[0]}") from None
  tokenization = Tokenization.from_projection(
      {**ops.projection_defaults(), **settings})
  extra_rows = int(settings.get("add_bos", False)) + int(settings.get("add_eos", False))
  for text in texts:
    features, lengths = project(text)
    rows = int(lengths.numpy()[0])
    decoded, starts = decode_with_offsets(text)
    spans = [(starts[start], starts[end]) for start, end in tokenization.spans(decoded)]
    if rows != len(spans) + extra_rows:
      raise RuntimeError(f"the op has {rows} rows for {text!r}, but Tokenization.spans "
                         f"finds {len(spans)} text tokens (+{extra_rows} BOS/EOS)")
    yield result_line(rows, features.numpy()[0], spans)


IMPLEMENTATIONS: dict[str, Callable[..., Iterator[bytes]]] = {
    "runtime": runtime_lines, "op": op_lines}


def main(argv: Sequence[str]) -> None:
  if len(argv) != 2:
    raise UserError(f"expected one SETTINGS.json argument, got {len(argv) - 1}: usage: "
                    f"python -m {PROGRAM} [--reference=op] SETTINGS.json < texts")
  path = argv[1]
  settings = read_settings(path)
  texts = split_lines(sys.stdin.buffer.read())
  out = sys.stdout.buffer
  for line in IMPLEMENTATIONS[FLAGS.reference](settings, texts, where=path):
    out.write(line)
  out.flush()


def run() -> None:
  cli_errors.run(PROGRAM, define_flags, main)


if __name__ == "__main__":
  run()
