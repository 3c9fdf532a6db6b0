#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora (committed under custom_ops/fuzz/corpus/).

  python custom_ops/fuzz/make_seed_corpus.py           # pure Python
  python custom_ops/fuzz/make_seed_corpus.py --tflite  # + real converter output

corpus/projection/: inputs in projection_fuzzer.cc's layout (a 24-byte config
header, the separators, then sentences split by 0xFF).

corpus/tflite_invoke/: inputs in tflite_invoke_fuzzer.cc's layout (flags,
four int16 dims, then sentences or a raw TFLite string tensor buffer).

corpus/flexbuffers/: custom-options FlexBuffer maps. `--tflite` (needs
TensorFlow and the built ops, i.e. the project venv) converts small tf.Modules
calling pqrnn_tf.ops.sequence_string_projection with the TFLite converter and
extracts the op's custom_options from the .tflite flatbuffer: these are the
exact bytes the TFLite kernel's Init receives. Without it, only maps built
with flatbuffers.flexbuffers (if installed) are (re)written; existing
tflite-*.bin files are left alone.

Outputs are deterministic, so rerunning it leaves the corpus unchanged.
"""
from __future__ import annotations

import argparse
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

# Header flags (projection_fuzzer.cc).
LOWERCASE, SPLIT, BOS, EOS = 1, 2, 4, 8
INVALID_SEPARATORS, BIG_FEATURES = 64, 128


def projection_input(texts: list[bytes], *, feature=15, max_tokens=0,
                     flags=LOWERCASE | SPLIT, repeat=0, ngram=0, prob=0,
                     separators=b"", mode=0, seed=0, call=0) -> bytes:
  """One projection_fuzzer input. Arguments are the raw header bytes."""
  assert 1 <= len(texts) <= 4 and len(separators) < 8
  assert all(b"\xff" not in t for t in texts[:-1])
  flags |= (len(texts) - 1) << 4
  header = bytes([feature, max_tokens, flags, repeat, ngram, prob,
                  len(separators), mode])
  header += struct.pack("<qQ", seed, call)
  assert len(header) == 24
  return header + separators + b"\xff".join(texts)


SENTENCES = [
    b"show me flights from Boston to Denver on Monday",
    b"What's the  cheapest fare?!  \t SFO\xe2\x80\x94JFK\n",
    "\u6211\u60f3\u8ba2\u4e00\u5f20\u53bb\u5317\u4eac\u7684\u673a\u7968".encode(),
    "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35 \u3053\u3093\u306b\u3061\u306f world".encode(),
    "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3 \u0130stanbul STRASSE".encode(),
    b"soooooo gooood!!!!!! yaaay",
    b"bad \xc0\xaf utf8 \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82 end\x00nul",
    "emoji \U0001F600\U0001F600 and \u00a0nbsp\u2003em\u3000ideo".encode(),
]


def projection_corpus() -> dict[str, bytes]:
  s = SENTENCES
  return {
      "defaults-english": projection_input([s[0]]),
      "batch4-mixed": projection_input(s[:4], feature=95, flags=SPLIT | EOS),
      "no-lowercase-no-split": projection_input([s[3], s[4]], flags=0),
      "bos-eos-max-tokens": projection_input(
          [s[0], s[2]], max_tokens=128 + 4, flags=LOWERCASE | SPLIT | BOS | EOS),
      "repeat-cut": projection_input([s[5]], repeat=2, feature=40),
      "ngrams3": projection_input([s[0], s[5]], ngram=96 + 2, feature=63),
      "ngrams8-cjk": projection_input([s[2], b"a"], ngram=96 + 7),
      "separators": projection_input([b"a,b;;c,d e", s[1]], separators=b",;?"),
      "separators-utf8": projection_input(
          [s[7]], separators="\u2014\U0001F600".encode()),
      "invalid-utf8": projection_input([s[6], b""], flags=LOWERCASE),
      "distortion": projection_input(
          [s[0], s[4]], prob=128 + 30, seed=-42, call=7),
      "distortion-all": projection_input([s[1]], prob=255, seed=2**62, call=2**64 - 1),
      "big-features": projection_input(
          [b"a b"], feature=6, flags=LOWERCASE | BIG_FEATURES | BOS),
      "empty-batch": projection_input([b"", b"   ", b"\t\n"]),
      "invalid-separators": projection_input(
          [s[0]], separators=b",", flags=LOWERCASE | INVALID_SEPARATORS),
      "invalid-ngram": projection_input([s[0]], mode=0xF7),
      "refused-allocation": projection_input([s[0]], mode=0xFF),
  }


def string_tensor(texts: list[bytes]) -> bytes:
  """A TFLite string tensor buffer: count, count + 1 offsets, bytes."""
  offset = 4 + 4 * (len(texts) + 1)
  offsets = []
  for t in texts:
    offsets.append(offset)
    offset += len(t)
  offsets.append(offset)
  return struct.pack(f"<i{len(offsets)}i", len(texts), *offsets) + b"".join(texts)


def tflite_invoke_input(texts: list[bytes], *, well_formed: bool, small=True,
                        rank=1, dims=None, wrong_type=False, twice=False) -> bytes:
  """One tflite_invoke_fuzzer input (see its header comment)."""
  flags = (int(well_formed) | int(small) << 1 | rank << 2 | int(wrong_type) << 5
           | int(twice) << 6)
  dims = list(dims if dims is not None else [len(texts)]) + [0] * 4
  header = bytes([flags]) + struct.pack("<4h", *dims[:4])
  if well_formed:
    return header + b"\xff".join(texts)
  return header + string_tensor(texts)


def tflite_invoke_corpus() -> dict[str, bytes]:
  s = SENTENCES
  return {
      "packed-batch3": tflite_invoke_input(s[:3], well_formed=True),
      "packed-defaults": tflite_invoke_input([s[0]], well_formed=True, small=False),
      "raw-valid": tflite_invoke_input([s[0], s[6]], well_formed=False, twice=True),
      "raw-empty-batch": tflite_invoke_input([], well_formed=False, dims=[0]),
      "raw-rank2": tflite_invoke_input([s[1]], well_formed=False, rank=2, dims=[1, 1]),
      "raw-wrong-type": tflite_invoke_input([s[1]], well_formed=False, wrong_type=True),
  }


# Attribute sets converted with the real TFLite converter (--tflite). They
# cover every value type the converter writes and several integer widths.
TFLITE_ATTRIBUTE_SETS = {
    "defaults": {},
    "typical": dict(feature_size=128, max_tokens=64, add_bos=True, add_eos=True,
                    char_ngram_size=3, separators=",.;"),
    "wide-ints": dict(feature_size=16384, distortion_seed=-(2**40),
                      distortion_probability=0.25, max_repeated_chars=300,
                      lowercase=False, split_unsegmented_scripts=False,
                      separators="\u2014\u3001"),
}


def flexbuffers_from_python() -> dict[str, bytes]:
  try:
    from flatbuffers import flexbuffers  # pylint: disable=g-import-not-at-top
  except ImportError:
    print("flatbuffers not installed: skipping python-built FlexBuffers",
          file=sys.stderr)
    return {}
  return {
      "py-small": flexbuffers.Dumps(
          {"feature_size": 32, "separators": ",", "add_bos": True,
           "distortion_probability": 0.5}),
      # 2-, 4- and 8-byte integers, a double, a string longer than 255 bytes.
      "py-wide": flexbuffers.Dumps(
          {"feature_size": 300, "max_repeated_chars": 70000,
           "distortion_seed": 2**63 - 1, "distortion_probability": 0.1,
           "separators": "\u00e9" * 150}),
      # Well-formed but invalid attribute values (Init must fail cleanly).
      "py-invalid": flexbuffers.Dumps(
          {"feature_size": 70000, "max_tokens": -5, "char_ngram_size": 9,
           "separators": 7, "add_bos": "yes"}),
  }


def custom_options(model: bytes, op_name: str) -> bytes:
  """The custom_options bytes of the first custom op named `op_name`."""
  from tensorflow.lite.python import schema_py_generated as schema  # pylint: disable=g-import-not-at-top
  m = schema.Model.GetRootAsModel(model, 0)
  for sg in range(m.SubgraphsLength()):
    subgraph = m.Subgraphs(sg)
    for i in range(subgraph.OperatorsLength()):
      op = subgraph.Operators(i)
      code = m.OperatorCodes(op.OpcodeIndex())
      if code.CustomCode() and code.CustomCode().decode() == op_name:
        return op.CustomOptionsAsNumpy().tobytes()
  raise ValueError(f"no {op_name} op in the model")


def flexbuffers_from_tflite() -> dict[str, bytes]:
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from pqrnn_tf import ops  # pylint: disable=g-import-not-at-top

  out = {}
  for name, attributes in TFLITE_ATTRIBUTE_SETS.items():

    class Projection(tf.Module):

      @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
      def serve(self, text):
        return ops.sequence_string_projection(text, **attributes)  # pylint: disable=cell-var-from-loop

    module = Projection()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [module.serve.get_concrete_function()], module)
    converter.allow_custom_ops = True
    out["tflite-" + name] = custom_options(converter.convert(),
                                           ops.PROJECTION_OP_NAME)
  return out


def write(directory: str, files: dict[str, bytes]) -> None:
  os.makedirs(directory, exist_ok=True)
  for name, data in files.items():
    with open(os.path.join(directory, name + ".bin"), "wb") as f:
      f.write(data)
    print(f"{os.path.relpath(directory, HERE)}/{name}.bin: {len(data)} bytes")


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--tflite", action="store_true",
                      help="also convert models with TensorFlow's TFLite "
                      "converter and store the op's custom_options")
  args = parser.parse_args()
  write(os.path.join(CORPUS, "projection"), projection_corpus())
  write(os.path.join(CORPUS, "tflite_invoke"), tflite_invoke_corpus())
  flex = flexbuffers_from_python()
  if args.tflite:
    flex.update(flexbuffers_from_tflite())
  write(os.path.join(CORPUS, "flexbuffers"), flex)


if __name__ == "__main__":
  main()
