"""The Java projection (clients/java) against the Python reference.

`make test` builds clients/java and runs its unit tests first (`make
java-client`); these tests compile it again into a temporary folder, so they
also run alone, and check what the Java unit tests cannot:
- the Java unit tests pass (golden vectors, spans, the model reader, decoding);
- `ConformanceMain` matches tests/projection_reference.py bit for bit on
  seeded random lines (invalid UTF-8, astral characters, CJK, casing, `\\r`)
  under several settings, and its spans match the op's token boundaries
  (`pqrnn_tf.data.tokens.Tokenization`) in bytes;
- the Java lowercase table maps every code point as Python 3.11 does, and is
  what clients/java/tools/gen_java_unicode_tables.py generates.

Set PQRNN_SKIP_JAVA=1 to skip them where no JDK can be installed.
"""
from __future__ import annotations

import base64
import json
import os
import random
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from pqrnn_tf.data.tokens import Tokenization
from tests import projection_reference as reference

ROOT = Path(__file__).resolve().parent.parent
JAVA_DIR = ROOT / "clients" / "java"
GOLDEN = ROOT / "tests" / "golden_projection.json"
PACKAGE = "org.pqrnn.projection"

pytestmark = pytest.mark.skipif(os.environ.get("PQRNN_SKIP_JAVA") == "1",
                                reason="PQRNN_SKIP_JAVA=1")

#: Settings the conformance lines are checked under (the `projection` object
#: of a portable model; missing keys take the op's defaults).
SETTINGS = {
    "pqrnn_base": {"feature_size": 64, "char_ngram_size": 3, "max_tokens": 512,
                   "split_unsegmented_scripts": False, "lowercase": True},
    "defaults_bos_eos": {"feature_size": 33, "add_bos": True, "add_eos": True, "max_tokens": 5},
    "separators_runs": {"feature_size": 40, "separators": "-\u00e9X\U0001F600", "max_repeated_chars": 2,
                        "char_ngram_size": 2},
    "case_kept_long_ngrams": {"feature_size": 100, "lowercase": False, "char_ngram_size": 8,
                              "max_repeated_chars": 1},
}

# Pieces of random lines: letters of several scripts and cases, whitespace of
# every kind (the line separator aside), and bytes that are not UTF-8.
_TEXT_PIECES = (
    list("abcXYZ019.,!-'\u00e9\u00c9\u00df\u0130\u03a3\u03c3\u01c5\u1e9e")
    + ["\u6771", "\u4eac", "\u30bf", "\u0e2a", "\u3001", "\U00020000", "\U0001F469", "\u200d",
       "\U0001D400", "\U00010400", "\u2c2f", "\U00010570", "\u0000", "\ufffd", "\U0001F600"]
    + [" ", "  ", "\t", "\r", "\u3000", "\u00a0", "\u2028", "\u0085", "\u001f"]
)
_BYTE_PIECES = [b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\x80", b"\xff",
                b"\x80", b"\xf0\x9f\x91"]


def random_line(rng: random.Random) -> bytes:
  """One line of 0-40 pieces (no b'\\n'), sometimes with invalid UTF-8."""
  out = []
  for _ in range(rng.randrange(41)):
    if rng.random() < 0.05:
      out.append(rng.choice(_BYTE_PIECES))
    else:
      piece = rng.choice(_TEXT_PIECES)
      out.append((piece * rng.choice((1, 1, 1, 3))).encode("utf-8"))
  return b"".join(out)


@pytest.fixture(scope="module")
def classes(tmp_path_factory) -> Path:
  """clients/java compiled with `javac --release 8` (main and test sources)."""
  javac = shutil.which("javac")
  assert javac, "javac not found: `make java-client` installs a JDK (or set PQRNN_SKIP_JAVA=1)"
  out = tmp_path_factory.mktemp("java_classes")
  sources = sorted(str(p) for p in (JAVA_DIR / "src" / "main").rglob("*.java"))
  sources += sorted(str(p) for p in (JAVA_DIR / "src" / "test").rglob("*.java"))
  result = subprocess.run([javac, "--release", "8", "-Xlint:all", "-d", str(out), *sources],
                          capture_output=True, text=True, check=False)
  assert result.returncode == 0, result.stderr
  return out


def java(classes: Path, main: str, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
  return subprocess.run(["java", "-cp", str(classes), f"{PACKAGE}.{main}", *args],
                        input=stdin, capture_output=True, check=False)


def test_java_unit_tests_pass(classes):
  result = java(classes, "ProjectionTests", str(GOLDEN))
  out = result.stdout.decode()
  assert result.returncode == 0, out + result.stderr.decode()
  assert re.search(r"^\d+ passed, 0 failed$", out, re.MULTILINE), out


def _expected_spans(line: bytes, settings: dict) -> list[list[int]]:
  """Byte offsets of the op's text tokens, from `Tokenization.spans` on the
  decoded line (each invalid byte read as one U+FFFD, as the spec says)."""
  starts, chars, i = [], [], 0
  while i < len(line):
    seq = reference._utf8_sequence_at(line, i)  # pylint: disable=protected-access
    code_point, length = seq if seq else (reference.REPLACEMENT, 1)
    starts.append(i)
    chars.append(chr(code_point))
    i += length
  starts.append(len(line))
  tokenization = Tokenization.from_projection({"max_tokens": 0, **settings})
  return [[starts[s], starts[e]] for s, e in tokenization.spans("".join(chars))]


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_conformance_matches_reference(classes, tmp_path, name):
  settings = SETTINGS[name]
  rng = random.Random(f"java-conformance-{name}")
  lines = [random_line(rng) for _ in range(1500)] + [b"", b"\r", b"A\r", b"\xff"]
  settings_file = tmp_path / "settings.json"
  settings_file.write_text(json.dumps(settings), encoding="utf-8")
  # The last line has no '\n' and still counts.
  result = java(classes, "ConformanceMain", str(settings_file), stdin=b"\n".join(lines))
  assert result.returncode == 0, result.stderr.decode()
  outputs = result.stdout.decode("ascii").split("\n")
  assert outputs[-1] == "" and len(outputs) == len(lines) + 1
  ref_attrs = {k: v for k, v in settings.items()}
  for line, output in zip(lines, outputs):
    features, lengths = reference.project([line], **ref_attrs)
    rows = int(lengths[0])
    expected_features = base64.b64encode(features[0, :rows].astype("<f4").tobytes()).decode()
    expected = json.dumps({"rows": rows, "features": expected_features,
                           "spans": _expected_spans(line, settings)})
    assert output == expected, f"line {line!r} under {name}"


def test_conformance_line_splitting_and_errors(classes, tmp_path):
  settings_file = tmp_path / "settings.json"
  settings_file.write_text('{"feature_size": 4}', encoding="utf-8")
  assert java(classes, "ConformanceMain", str(settings_file)).stdout == b""
  one_empty = java(classes, "ConformanceMain", str(settings_file), stdin=b"\n").stdout
  assert one_empty == b'{"rows": 0, "features": "", "spans": []}\n'
  two = java(classes, "ConformanceMain", str(settings_file), stdin=b"a\r\nb\n").stdout.splitlines()
  assert len(two) == 2 and json.loads(two[0])["spans"] == [[0, 1]]

  settings_file.write_text('{"feature_size": 0}', encoding="utf-8")
  bad = java(classes, "ConformanceMain", str(settings_file), stdin=b"a\n")
  message = bad.stderr.decode().strip()
  assert bad.returncode == 2 and "\n" not in message
  assert str(settings_file) in message and "'feature_size'" in message
  missing = java(classes, "ConformanceMain", str(tmp_path / "missing.json"))
  assert missing.returncode == 2 and "cannot read" in missing.stderr.decode()


def test_lowercase_of_every_code_point_is_python_311s(classes):
  assert unicodedata.unidata_version == "14.0.0"
  result = java(classes, "LowercaseDump")
  assert result.returncode == 0, result.stderr.decode()
  java_lower = np.frombuffer(result.stdout, dtype="<i4")
  assert len(java_lower) == 0x110000
  mismatches = [c for c in range(0x110000)
                if not 0xD800 <= c <= 0xDFFF and java_lower[c] != reference.lower_code_point(c)]
  assert not mismatches, [hex(c) for c in mismatches[:10]]


def test_java_lowercase_table_is_generated():
  generator = JAVA_DIR / "tools" / "gen_java_unicode_tables.py"
  result = subprocess.run([sys.executable, str(generator)], capture_output=True, text=True, check=True)
  table = JAVA_DIR / "src" / "main" / "java" / "org" / "pqrnn" / "projection" / "UnicodeLowercase.java"
  assert result.stdout == table.read_text(encoding="utf-8"), f"regenerate {table} with {generator}"


# A stand-in for LiteRT's `org.tensorflow.lite.InterpreterApi` with the
# methods Predictor calls (same names and signatures as the AAR's), so that
# clients/java/src/android compiles here and its glue runs: the fake
# interpreter records its inputs and answers with probabilities derived from
# them, which the test recomputes.
_FAKE_INTERPRETER_API = """
package org.tensorflow.lite;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Map;

public interface InterpreterApi extends AutoCloseable {
  class Options {
    public Options setNumThreads(int threads) { return this; }
  }

  static InterpreterApi create(ByteBuffer model, Options options) {
    if (!model.isDirect()) throw new IllegalArgumentException("the model buffer must be direct");
    return new Fake();
  }

  void runSignature(Map<String, Object> inputs, Map<String, Object> outputs, String signatureKey);

  @Override
  void close();

  final class Fake implements InterpreterApi {
    public static String lastKey;
    public static float[] lastFeatures;
    public static int lastLength;

    public void runSignature(Map<String, Object> inputs, Map<String, Object> outputs, String key) {
      FloatBuffer features = (FloatBuffer) inputs.get("features");
      lastFeatures = new float[features.remaining()];
      features.get(lastFeatures);
      lastLength = ((int[]) inputs.get("sequence_length"))[0];
      lastKey = key;
      float[][] intents = (float[][]) outputs.get("intent_probs");
      intents[0][lastLength % intents[0].length] = 1f;
      float[][][] slots = (float[][][]) outputs.get("slot_probs");
      for (int row = 0; row < slots[0].length; ++row) {
        slots[0][row][(row * 7 + 3) % slots[0][row].length] = 0.5f;  // the row's tag
      }
    }

    public void close() {}
  }
}
"""

_PREDICTOR_CHECK = """
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Paths;
import org.pqrnn.projection.OutputDecoder;
import org.pqrnn.projection.android.Predictor;
import org.tensorflow.lite.InterpreterApi;

public final class PredictorCheck {
  public static void main(String[] args) throws Exception {
    byte[] file = Files.readAllBytes(Paths.get(args[0]));
    ByteBuffer model = ByteBuffer.allocateDirect(file.length);
    model.put(file).flip();
    try (Predictor predictor = new Predictor(model, new InterpreterApi.Options().setNumThreads(1))) {
      OutputDecoder.Prediction p = predictor.predict(args[1]);
      StringBuilder out = new StringBuilder();
      out.append(InterpreterApi.Fake.lastKey).append('\\n').append(InterpreterApi.Fake.lastLength).append('\\n');
      for (float f : InterpreterApi.Fake.lastFeatures) out.append(Float.floatToRawIntBits(f)).append(' ');
      out.append('\\n').append(p.intent).append('\\n').append(String.join(" ", p.tags)).append('\\n');
      for (OutputDecoder.Slot s : p.slots) out.append(s.type).append(' ').append(s.start).append(' ').append(s.end).append(';');
      System.out.println(out);
    }
  }
}
"""


def _portable_model_file(path: Path, projection: dict, buckets: list[int],
                         intents: list[str], tags: list[str]) -> None:
  """Some flatbuffer-like bytes, then a zip archive appended with Python's
  zipfile in append mode (offsets from the file start), as the exporter does."""
  import zipfile  # pylint: disable=g-import-not-at-top
  path.write_bytes(b"\x1c\x00\x00\x00TFL3" + bytes(range(256)) * 4)
  with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_STORED) as archive:
    archive.writestr("intent_labels.txt", "".join(f"{label}\n" for label in intents))
    archive.writestr("slot_labels.txt", "".join(f"{tag}\n" for tag in tags))
    archive.writestr("pqrnn_portable.json", json.dumps(
        {"spec_version": 1, "projection": projection, "buckets": buckets}, indent=1))


def test_android_predictor_glue_with_a_fake_interpreter(classes, tmp_path):
  from pqrnn_tf import metrics  # pylint: disable=g-import-not-at-top
  stub = tmp_path / "stub"
  (stub / "org" / "tensorflow" / "lite").mkdir(parents=True)
  (stub / "org" / "tensorflow" / "lite" / "InterpreterApi.java").write_text(_FAKE_INTERPRETER_API)
  (stub / "PredictorCheck.java").write_text(_PREDICTOR_CHECK)
  predictor_sources = sorted(str(p) for p in (JAVA_DIR / "src" / "android").rglob("*.java"))
  out = tmp_path / "classes"
  compiled = subprocess.run(
      ["javac", "--release", "8", "-cp", str(classes), "-d", str(out),
       str(stub / "org" / "tensorflow" / "lite" / "InterpreterApi.java"),
       str(stub / "PredictorCheck.java"), *predictor_sources],
      capture_output=True, text=True, check=False)
  assert compiled.returncode == 0, compiled.stderr

  projection = {"feature_size": 16, "max_tokens": 40, "lowercase": True, "separators": "",
                "split_unsegmented_scripts": True, "max_repeated_chars": 0, "add_bos": True,
                "add_eos": True, "char_ngram_size": 3}
  intents = ["flight", "airfare", "ground_service"]
  tags = ["O", "B-city", "I-city", "B-date", "I-date"]
  model = tmp_path / "model.tflite"
  _portable_model_file(model, projection, [16, 32, 42], intents, tags)
  text = "Flights to \U0001F600東京 from New York on Monday " * 2
  result = subprocess.run(["java", "-cp", f"{out}{os.pathsep}{classes}", "PredictorCheck",
                           str(model), text], capture_output=True, text=True, check=False)
  assert result.returncode == 0, result.stderr
  key, length, features, intent, row_tags, slots = result.stdout.rstrip("\n").split("\n")

  data = text.encode("utf-8")
  settings = {k: v for k, v in projection.items()}
  expected, lengths = reference.project([data], **settings)
  rows = int(lengths[0])
  assert rows == 22 and int(length) == rows and key == "bucket_32"
  padded = np.zeros((32, 16), np.float32)
  padded[:rows] = expected[0, :rows]
  assert [int(b) for b in features.split()] == padded.view(np.int32).ravel().tolist()
  assert intent == intents[rows % len(intents)]
  # The fake's tag of row r is (7r + 3) % 5; BOS (row 0) and EOS are not text tokens.
  expected_tags = [tags[(7 * r + 3) % len(tags)] for r in range(1, rows - 1)]
  assert row_tags.split() == expected_tags
  spans = Tokenization.from_projection(projection).spans(text)  # code points
  utf16 = [len(text[:i].encode("utf-16-le")) // 2 for i in range(len(text) + 1)]
  expected_slots = "".join(f"{kind} {utf16[spans[first][0]]} {utf16[spans[last][1]]};"
                           for kind, first, last in metrics.get_chunks(expected_tags))
  assert slots == expected_slots and expected_slots.count(";") >= 3


def test_real_portable_model_runs_like_the_python_predictor(classes, tmp_path, tiny_config):
  """An untrained tiny pQRNN exported as a portable model (`convert_portable`
  and `add_metadata`, as `pqrnn-export --portable` does): the Java side reads
  its settings and labels, projects and pads each sentence; LiteRT (Python)
  runs the bucket; the Java decoder must give the Python predictor's intent
  and slot spans. Random weights tag at random, which gives many slots."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from ai_edge_litert.interpreter import Interpreter  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.export import metadata as export_metadata  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.export import portable as portable_export  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.inference import portable  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.inference.predictor import TflitePredictor  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.models import build_model  # pylint: disable=g-import-not-at-top

  tf.keras.utils.set_random_seed(3)
  intents = ["flight", "airfare", "ground_service", "city"]
  tags = ["O", "B-fromloc", "I-fromloc", "B-toloc", "I-toloc"]
  config = tiny_config(projection={"max_tokens": 40, "add_bos": True})
  flatbuffer, settings = portable_export.convert_portable(
      build_model(config, len(intents), len(tags)), quantization="none")
  model_path = tmp_path / "portable.tflite"
  model_path.write_bytes(export_metadata.add_metadata(
      flatbuffer, name="tiny", version="1", description="untrained", intent_labels=intents,
      slot_labels=tags, signature_key=portable.signature_key(settings["buckets"][0]),
      files={portable.SETTINGS_FILE: json.dumps(settings, indent=1)}))

  sentences = ["show me flights from Boston to Denver", "", "Zürich 🛫 → SFO, first class",
               " ".join(["word"] * 30), "東京から大阪まで", "İSTANBUL ΣΟΦΙΑ"]
  def java_check(mode: str, lines: list[str]) -> list[dict]:
    result = subprocess.run(
        ["java", "-cp", str(classes), f"{PACKAGE}.PortableModelCheck", str(model_path), mode],
        input="".join(line + "\n" for line in lines).encode("utf-8"), capture_output=True,
        check=False)
    assert result.returncode == 0, result.stderr.decode()
    return [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]

  info, *inputs = java_check("project", [json.dumps(s) for s in sentences])
  projection = settings["projection"]
  assert info == {"feature_size": projection["feature_size"], "max_tokens": 40, "add_bos": True,
                  "add_eos": projection["add_eos"],
                  "char_ngram_size": projection["char_ngram_size"],
                  "buckets": settings["buckets"], "intents": len(intents), "slots": len(tags)}
  interpreter = Interpreter(model_path=str(model_path))
  outputs = []
  for text, given in zip(sentences, inputs):
    bucket = given["bucket"]
    features = np.frombuffer(base64.b64decode(given["features"]), "<f4").reshape(1, bucket, -1)
    result = interpreter.get_signature_runner(portable.signature_key(bucket))(
        features=features, sequence_length=np.array([given["rows"]], np.int32))
    outputs.append(json.dumps({
        "text": text, "intent_probs": [float(p) for p in result["intent_probs"][0]],
        "slot_probs": [[float(p) for p in row] for row in result["slot_probs"][0]]}))
  decoded = java_check("decode", outputs)

  expected = TflitePredictor(model_path).predict(sentences)
  utf16 = lambda text, i: len(text[:i].encode("utf-16-le")) // 2
  for text, want, got, given in zip(sentences, expected, decoded, inputs):
    assert given["bucket"] == portable.bucket_for(given["rows"], settings["buckets"])
    assert got["intent"] == want.intent, text
    assert got["slots"] == [[s.type, utf16(text, s.start), utf16(text, s.end)]
                            for s in want.slots], text
  assert inputs[3]["bucket"] == 32 and sum(len(d["slots"]) for d in decoded) >= 3
