"""Every projection implementation gives the same bytes (custom_ops/README.md,
"Conformance: one contract for every implementation").

The implementations are the contract's commands: the C++ op through
TensorFlow (`--reference=op`), the TensorFlow-free Python runtime, Java
(clients/java, when built and `java` is on PATH; PQRNN_SKIP_JAVA=1 skips it)
and JavaScript (clients/js, when `node` is on PATH; PQRNN_SKIP_JS=1 skips
it). They run on more than 10,000 seeded generated strings (invalid UTF-8,
unsegmented scripts, emoji, combining marks, every whitespace, NUL, a
100,000-character token, empty lines, special casing) under settings that
cover every attribute, and on the golden vectors, which they must also match.

Cost: one process per implementation and settings file, except the op: its
command starts TensorFlow (seconds), so it runs as a command on one settings
file and in this process (`conformance.op_lines`, what the command runs) on
the rest.
"""
from __future__ import annotations

import base64
import concurrent.futures
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings
from hypothesis import strategies as st

from pqrnn_tf.cli_errors import UserError
from pqrnn_tf.data.tokens import Tokenization
from pqrnn_tf.inference import conformance
from pqrnn_tf.inference.projection import Projector, settings_attributes
from tests.test_aarch64_golden import GOLDEN, golden_features

ROOT = Path(__file__).resolve().parent.parent
JAVA_CLASSES = ROOT / "clients" / "java" / "build" / "classes"
JS_COMMAND = ROOT / "clients" / "js" / "conformance.mjs"
SEED = 20261207
STRINGS_PER_SETTING = 900
BASE_STRINGS = 300  # pqrnn_base's 512 features make each line 8x longer

# Settings that cover every attribute of a portable model's `projection`.
SETTINGS: dict[str, dict] = {
    "f1_max1": {"feature_size": 1, "max_tokens": 1},
    "f7_max5_case_bos": {"feature_size": 7, "max_tokens": 5, "lowercase": False,
                         "add_bos": True},
    "f64_n1_separators_eos": {"feature_size": 64, "char_ngram_size": 1,
                              "separators": "-\u00b7/", "add_eos": True},
    "f32_n2_nosplit_rep1": {"feature_size": 32, "char_ngram_size": 2,
                            "split_unsegmented_scripts": False, "max_repeated_chars": 1},
    "f33_n4_rep3_boseos_cjksep": {"feature_size": 33, "char_ngram_size": 4,
                                  "max_repeated_chars": 3, "add_bos": True,
                                  "add_eos": True, "separators": "X\u3001\u00e9"},
    "f64_n5_case_sigma_max512": {"feature_size": 64, "char_ngram_size": 5,
                                 "lowercase": False, "separators": "X\u03a3",
                                 "max_tokens": 512},
    "f16_n6_nosplit_max5": {"feature_size": 16, "char_ngram_size": 6,
                            "split_unsegmented_scripts": False, "max_tokens": 5},
    "f7_n7_rep2_nulsep": {"feature_size": 7, "char_ngram_size": 7,
                          "max_repeated_chars": 2, "separators": "\u0000\u00a0"},
    "f64_n8_bos_case": {"feature_size": 64, "char_ngram_size": 8, "add_bos": True,
                        "lowercase": False},
    "f32_n3_rep5_emojisep": {"feature_size": 32, "char_ngram_size": 3,
                             "max_repeated_chars": 5, "separators": "\U0001f600"},
    "f1_defaults_eos": {"feature_size": 1, "add_eos": True, "max_tokens": 0},
    "pqrnn_base": {"feature_size": 512, "char_ngram_size": 3, "max_tokens": 512,
                   "split_unsegmented_scripts": False},
}

# ---------------------------------------------------------------- generator

WHITESPACE = [chr(c) for c in (0x09, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2028,
                               0x2029, 0x202F, 0x205F, 0x3000)] + [
                                   chr(c) for c in range(0x2000, 0x200B)]
# Not White_Space, though some look like it or Python's str.split() cuts there.
NOT_WHITESPACE = ["\u200b", "\ufeff", "\u180e", "\x1c", "\x1d", "\x1e", "\x1f", "\x00",
                  "\x01", "\x7f"]
UNSEGMENTED = ["\u0e01", "\u0e2a", "\u0e40", "\u0e81", "\u1000", "\u1780", "\u3001",
               "\u3002", "\u3042", "\u30ab", "\u31f0", "\u3400", "\u4e00", "\u6771",
               "\u9fff", "\uf900", "\uff66", "\U00020000", "\U0002a700", "\U00030000"]
NEAR_UNSEGMENTED = ["\u0dff", "\u0f00", "\u109f", "\u10a0", "\u3000", "\u3040", "\u4dc0",
                    "\uac00", "\ud55c", "\uae00", "\uff65", "\uffa0", "\U0002fa20"]
CASED = ["A", "Z", "\u0130", "\u0131", "I", "\u03a3", "\u03c3", "\u03c2", "\u0394",
         "\u00c0", "\u00df", "\u1e9e", "\u0178", "\u01c5", "\u0414", "\u10a0",
         "\U00010400", "\U0001e900", "\u2160", "\u24b6", "\uff21", "X", "\u00c9"]
COMBINING = ["\u0301", "\u0308", "\u0327", "\u0336", "\u20dd", "\u093f", "\u0e31"]
EMOJI = ["\U0001f600", "\u2764\ufe0f", "\U0001f469\u200d\U0001f4bb",
         "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
         "\U0001f44d\U0001f3fd", "\U0001f1eb\U0001f1f7", "\U0001f3f3\ufe0f\u200d\U0001f308"]
SEPARATOR_LIKE = ["-", "\u00b7", "/", "\u00e9", "\u3001", "\u03a3", "X", "\U0001f600"]
# Byte sequences that are not UTF-8: each byte is one U+FFFD.
INVALID = [b"\x80", b"\xbf", b"\x80\x80", b"\xc2", b"\xe2\x82", b"\xf0\x9f\x98",
           b"\xf0\x9f", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf",
           b"\xf0\x80\x80\x80", b"\xf0\x8f\xbf\xbf", b"\xed\xa0\x80", b"\xed\xbf\xbf",
           b"\xed\xa0\xbd\xed\xb8\x80", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80",
           b"\xf8\x88\x80\x80\x80", b"\xfe", b"\xff", b"\xc3", b"\xe2\x28\xa1",
           b"\xef\xbf\xbd"]


def random_word(rng: random.Random) -> str:
  letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.,!?\"\\{}"
  word = "".join(rng.choice(letters) for _ in range(rng.randint(1, 9)))
  if rng.random() < 0.15:  # a run for max_repeated_chars
    word += rng.choice(letters + "\U0001f600\u4e00") * rng.randint(2, 9)
  return word


def random_piece(rng: random.Random) -> bytes:
  """One piece of a generated string (never containing b"\\n")."""
  kind = rng.random()
  if kind < 0.30:
    text = random_word(rng)
  elif kind < 0.45:
    text = rng.choice(WHITESPACE) * rng.randint(1, 3)
  elif kind < 0.53:
    return rng.choice(INVALID)
  elif kind < 0.61:
    text = "".join(rng.choice(UNSEGMENTED + NEAR_UNSEGMENTED) for _ in range(rng.randint(1, 6)))
  elif kind < 0.69:
    text = "".join(rng.choice(CASED) for _ in range(rng.randint(1, 5)))
  elif kind < 0.75:
    text = random_word(rng) + "".join(rng.choice(COMBINING) for _ in range(rng.randint(1, 3)))
  elif kind < 0.81:
    text = rng.choice(EMOJI) * rng.randint(1, 3)
  elif kind < 0.87:
    text = rng.choice(NOT_WHITESPACE)
  elif kind < 0.93:
    text = rng.choice(SEPARATOR_LIKE)
  elif kind < 0.97:  # any code point, surrogates excluded
    code = rng.choice([rng.randrange(0x80, 0x800), rng.randrange(0x800, 0xD800),
                       rng.randrange(0xE000, 0x10000), rng.randrange(0x10000, 0x110000)])
    text = chr(code)
  else:  # random bytes
    return bytes(rng.choice([b for b in range(256) if b != 0x0A])
                 for _ in range(rng.randint(1, 8)))
  return text.encode("utf-8")


def generated_strings(count: int, rng: random.Random) -> list[bytes]:
  strings = []
  for _ in range(count):
    pieces = rng.choice([1, 2, 3, 5, 8, 13, 30])
    strings.append(b"".join(random_piece(rng) for _ in range(pieces)))
  return strings


def special_strings(rng: random.Random) -> list[bytes]:
  """Lines every settings file gets."""
  # Letters no setting uses as a separator, and no unsegmented script.
  alphabet = "abcdefghijklmnopqrstuvw\u00e8\u0301\U0001f642"
  long_token = "".join(rng.choice(alphabet) for _ in range(100_000)).encode()
  many_tokens = " ".join(random_word(rng) for _ in range(1500)).encode()
  return [b"", b" ", b"\t\r \xc2\x85\xe2\x80\xa8\xe3\x80\x80", b"\r", b"\x00", b"\x00 \x00",
          "\u0130STANBUL \u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3".encode(),
          long_token, many_tokens]


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[bytes]]:
  """Settings name -> its texts: a slice of the generated strings, then the
  special lines."""
  rng = random.Random(SEED)
  specials = special_strings(rng)
  texts = {}
  for name in SETTINGS:
    count = BASE_STRINGS if name == "pqrnn_base" else STRINGS_PER_SETTING
    texts[name] = generated_strings(count, rng) + specials
  return texts


def test_corpus_is_large_and_line_safe(corpus):
  generated = sum(len(t) - len(special_strings(random.Random(0))) for t in corpus.values())
  assert generated >= 10_000
  everything = [t for texts in corpus.values() for t in texts]
  assert not any(b"\n" in t for t in everything)
  assert max(map(len, everything)) >= 100_000
  assert any(b"\xed\xa0\x80" in t for t in everything)  # a surrogate in UTF-8
  assert any(b"\xe2\x80\xa8" in t for t in everything)  # U+2028


# ----------------------------------------------------------- implementations

def java_command() -> list[str] | None:
  """The Java command, or None (the reason is `java_missing()`)."""
  java = shutil.which("java")
  if os.environ.get("PQRNN_SKIP_JAVA") == "1" or java is None or not JAVA_CLASSES.is_dir():
    return None
  return [java, "-cp", str(JAVA_CLASSES), "org.pqrnn.projection.ConformanceMain"]


def java_missing() -> str:
  if os.environ.get("PQRNN_SKIP_JAVA") == "1":
    return "PQRNN_SKIP_JAVA=1"
  if shutil.which("java") is None:
    return "java is not on PATH"
  return f"{JAVA_CLASSES.relative_to(ROOT)} does not exist (build clients/java first)"


def js_command() -> list[str] | None:
  node = shutil.which("node")
  if os.environ.get("PQRNN_SKIP_JS") == "1" or node is None or not JS_COMMAND.is_file():
    return None
  return [node, str(JS_COMMAND)]


def js_missing() -> str:
  if os.environ.get("PQRNN_SKIP_JS") == "1":
    return "PQRNN_SKIP_JS=1"
  if shutil.which("node") is None:
    return "node is not on PATH"
  return f"{JS_COMMAND.relative_to(ROOT)} does not exist"


PYTHON_RUNTIME = [sys.executable, "-m", "pqrnn_tf.inference.conformance"]
OP_COMMAND = PYTHON_RUNTIME + ["--reference=op"]


def run_command(command: list[str], settings_path: Path, texts: list[bytes]) -> list[bytes]:
  """The output lines of a conformance command on `texts`."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  proc = subprocess.run(command + [str(settings_path)], input=b"\n".join(texts) + b"\n",
                        capture_output=True, cwd=ROOT, env=env, timeout=600, check=False)
  assert proc.returncode == 0, (f"{' '.join(command)} {settings_path.name} exited "
                                f"{proc.returncode}: {proc.stderr.decode(errors='replace')[-2000:]}")
  return proc.stdout.splitlines(keepends=True)


def first_difference(name: str, texts: list[bytes], expected: list[bytes],
                     actual: list[bytes], who: str) -> str | None:
  """None if equal, else a message naming the first differing line."""
  if len(actual) != len(expected):
    return f"{who} / {name}: {len(actual)} output lines for {len(expected)} texts"
  for k, (want, got) in enumerate(zip(expected, actual)):
    if want != got:
      return (f"{who} / {name}: line {k + 1} differs from the op's; text {texts[k][:80]!r}\n"
              f"  op:   {want[:300]!r}\n  {who}: {got[:300]!r}")
  return None


@pytest.fixture(scope="module")
def settings_files(tmp_path_factory) -> dict[str, Path]:
  directory = tmp_path_factory.mktemp("conformance")
  paths = {}
  for name, settings in SETTINGS.items():
    paths[name] = directory / f"{name}.json"
    paths[name].write_text(json.dumps(settings))
  return paths


@pytest.fixture(scope="module")
def op_outputs(corpus) -> dict[str, list[bytes]]:
  """The op's lines for every settings file, computed in this process."""
  return {name: list(conformance.op_lines(SETTINGS[name], texts, where=name))
          for name, texts in corpus.items()}


def compare_command(command: list[str], who: str, corpus, settings_files, op_outputs):
  jobs = {}
  with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
    for name, texts in corpus.items():
      jobs[name] = pool.submit(run_command, command, settings_files[name], texts)
  problems = [first_difference(name, corpus[name], op_outputs[name], job.result(), who)
              for name, job in jobs.items()]
  problems = [p for p in problems if p]
  assert not problems, "\n".join(problems)


def test_op_command_is_what_the_op_lines_are(corpus, settings_files, op_outputs):
  """The --reference=op command prints what `op_lines` gives in this process."""
  name = "f33_n4_rep3_boseos_cjksep"
  actual = run_command(OP_COMMAND, settings_files[name], corpus[name])
  assert first_difference(name, corpus[name], op_outputs[name], actual, "op command") is None


def test_op_spans_cover_the_tokens(corpus, op_outputs):
  """The reference's spans are those of Tokenization.spans on str input, and
  its rows decode to float32 of the right count."""
  name = "f64_n1_separators_eos"
  tokenization = Tokenization.from_projection({**Projector().attributes, **SETTINGS[name]})
  for text, line in zip(corpus[name][:200], op_outputs[name]):
    record = json.loads(line)
    features = np.frombuffer(base64.b64decode(record["features"]), "<f4")
    assert features.size == record["rows"] * SETTINGS[name]["feature_size"]
    try:
      decoded = text.decode("utf-8")
    except UnicodeDecodeError:
      continue
    starts = [len(decoded[:i].encode()) for i in range(len(decoded) + 1)]
    assert record["spans"] == [[starts[s], starts[e]] for s, e in tokenization.spans(decoded)]


def test_python_runtime_matches_the_op(corpus, settings_files, op_outputs):
  compare_command(PYTHON_RUNTIME, "python", corpus, settings_files, op_outputs)


def test_java_matches_the_op(corpus, settings_files, op_outputs):
  command = java_command()
  if command is None:
    pytest.skip(f"Java projection not run: {java_missing()}")
  compare_command(command, "java", corpus, settings_files, op_outputs)


def test_javascript_matches_the_op(corpus, settings_files, op_outputs):
  command = js_command()
  if command is None:
    pytest.skip(f"JavaScript projection not run: {js_missing()}")
  compare_command(command, "js", corpus, settings_files, op_outputs)


def test_a_changed_byte_is_caught(corpus, op_outputs):
  """The comparison fails when one output byte differs."""
  name = "f7_max5_case_bos"
  changed = list(op_outputs[name])
  line = bytearray(changed[3])
  position = line.index(b'"features": "') + len(b'"features": "')
  line[position] = ord("A") if line[position] != ord("A") else ord("B")
  changed[3] = bytes(line)
  message = first_difference(name, corpus[name], op_outputs[name], changed, "python")
  assert message is not None and "line 4" in message


# ------------------------------------------------------------ golden vectors

def golden_inputs() -> list[tuple[str, bytes]]:
  """(case name, bytes) of the golden inputs that fit on one line."""
  cases = [(c["name"], bytes.fromhex(c["input_hex"])) for c in GOLDEN["cases"]]
  return [(name, text) for name, text in cases if b"\n" not in text]


def golden_settings() -> dict[str, dict]:
  """The golden settings a portable model can hold (no distortion)."""
  return {name: dict(attrs, feature_size=GOLDEN["feature_size"])
          for name, attrs in GOLDEN["settings"].items()
          if not set(attrs) - set(settings_attributes())}


def test_golden_settings_are_covered():
  assert set(golden_settings()) == {"defaults", "bos_eos_max3", "char_ngram3"}
  assert len(golden_inputs()) == len(GOLDEN["cases"]) - 1  # whitespace_only has "\n"


@pytest.mark.parametrize("setting", sorted(golden_settings()))
def test_every_implementation_reproduces_the_golden_vectors(setting, tmp_path):
  settings = golden_settings()[setting]
  path = tmp_path / f"{setting}.json"
  path.write_text(json.dumps(settings))
  names, texts = zip(*golden_inputs())
  # The op in this process (its command starts TensorFlow; it is run as a
  # command above), the others as commands.
  commands = {"op": None, "python": PYTHON_RUNTIME, "java": java_command(),
              "js": js_command()}
  results = {case["name"]: case["results"][setting] for case in GOLDEN["cases"]}
  ran = []
  for who, command in commands.items():
    if who == "op":
      lines = list(conformance.op_lines(settings, list(texts)))
    elif command is None:
      continue
    else:
      lines = run_command(command, path, list(texts))
    ran.append(who)
    assert len(lines) == len(texts), who
    for name, line in zip(names, lines):
      record = json.loads(line)
      expected = golden_features(results[name])
      features = np.frombuffer(base64.b64decode(record["features"]), "<f4")
      assert record["rows"] == results[name]["sequence_length"], (who, name)
      np.testing.assert_array_equal(
          features.reshape(expected.shape), expected, err_msg=f"{who}: {name} / {setting}")
  assert {"op", "python"} <= set(ran)


# ------------------------------------------------------- settings checking

def test_from_settings_checks_keys_and_types():
  complete = {name: Projector().attributes[name] for name in settings_attributes()}
  assert Projector.from_settings(complete).attributes == Projector().attributes
  with pytest.raises(UserError, match=r"m\.json: missing attribute\(s\) \['max_tokens'\]"):
    Projector.from_settings({k: v for k, v in complete.items() if k != "max_tokens"},
                            where="m.json")
  with pytest.raises(UserError, match=r"unknown attribute\(s\) \['distortion_seed'\]"):
    Projector.from_settings({**complete, "distortion_seed": 1})
  with pytest.raises(UserError, match="'lowercase' must be true or false, got 1"):
    Projector.from_settings({**complete, "lowercase": 1})
  with pytest.raises(UserError, match="'feature_size' must be an integer"):
    Projector.from_settings({**complete, "feature_size": 8.0})
  with pytest.raises(UserError, match="'feature_size' does not fit in 32 bits"):
    Projector.from_settings({**complete, "feature_size": 2**32})
  with pytest.raises(UserError, match="Invalid attribute 'char_ngram_size'.*got 9"):
    Projector.from_settings({**complete, "char_ngram_size": 9})
  with pytest.raises(UserError, match="must be a JSON object"):
    Projector.from_settings([1, 2])


def test_projector_batches_equal_single_texts():
  """A batch's rows are each text's own (padding is zero)."""
  projector = Projector(feature_size=16, char_ngram_size=3, add_eos=True)
  texts = generated_strings(40, random.Random(SEED + 1)) + [b"", "str input \u00e9"]
  features, lengths = projector.project(texts)
  assert features.shape[1] == max(1, lengths.max())
  for k, text in enumerate(texts):
    alone, alone_lengths = projector.project([text])
    assert lengths[k] == alone_lengths[0]
    np.testing.assert_array_equal(features[k, :lengths[k]], alone[0, :lengths[k]])
    assert not features[k, lengths[k]:].any()


def test_conformance_command_errors_are_one_line(tmp_path):
  bad = tmp_path / "bad.json"
  bad.write_text('{"feature_size": 0}')
  for args, expected in (([str(tmp_path / "missing.json")], "missing.json: cannot read"),
                         ([str(bad)], "bad.json: Invalid attribute 'feature_size'"),
                         ([], "expected one SETTINGS.json argument")):
    proc = subprocess.run(PYTHON_RUNTIME + args, input=b"", capture_output=True, cwd=ROOT,
                          check=False, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and expected in lines[0], lines


def test_distortion_counts_calls_as_the_op_does():
  """With distortion (training only), each `project` call is one execution of
  the op: the golden vectors of the second call, one text per call."""
  attrs = dict(GOLDEN["settings"]["distortion"])
  call_index = attrs.pop("call_index")
  for case in GOLDEN["cases"]:
    projector = Projector(feature_size=GOLDEN["feature_size"], **attrs)
    for _ in range(call_index):
      projector.project([b"an earlier call"])
    features, lengths = projector.project([bytes.fromhex(case["input_hex"])])
    expected = golden_features(case["results"]["distortion"])
    assert lengths[0] == len(expected), case["name"]
    np.testing.assert_array_equal(features[0, :lengths[0]], expected, err_msg=case["name"])


def test_threads_share_a_projector():
  """Threads projecting at once with one projector get what one thread gets."""
  projector = Projector(feature_size=64, char_ngram_size=3, add_bos=True, max_repeated_chars=2)
  batches = [generated_strings(8, random.Random(SEED + 2 + k)) for k in range(64)]
  alone = [projector.project_with_spans(batch) for batch in batches]
  with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
    together = list(pool.map(projector.project_with_spans, batches * 3))
  for k, (features, lengths, spans) in enumerate(together):
    want_features, want_lengths, want_spans = alone[k % len(batches)]
    np.testing.assert_array_equal(features, want_features)
    np.testing.assert_array_equal(lengths, want_lengths)
    assert all(np.array_equal(a, b) for a, b in zip(spans, want_spans))


# Hypothesis: strings as bytes (invalid UTF-8 included) or as text from every
# Unicode category, with random settings, checked against the op in process.

_TEXTS = st.lists(st.one_of(st.binary(max_size=60),
                            st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")),
                            st.text(alphabet="aAbB \u0130\u03a3ก中😀\u0301", max_size=30)
                            .map(str.encode)),
                  min_size=1, max_size=6)
_SETTINGS = st.fixed_dictionaries({
    "feature_size": st.sampled_from([1, 7, 32, 64]),
    "max_tokens": st.sampled_from([0, 1, 3, 512]),
    "lowercase": st.booleans(),
    "separators": st.sampled_from(["", ",.", "\u00e9-"]),
    "split_unsegmented_scripts": st.booleans(),
    "max_repeated_chars": st.sampled_from([0, 1, 2]),
    "add_bos": st.booleans(),
    "add_eos": st.booleans(),
    "char_ngram_size": st.integers(0, 8),
})


@hypothesis_settings(max_examples=150, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])
@given(texts=_TEXTS, attributes=_SETTINGS)
def test_python_runtime_equals_the_op_on_generated_strings(texts, attributes):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from pqrnn_tf import ops  # pylint: disable=g-import-not-at-top
  features, lengths = Projector(**attributes).project(texts)
  expected, expected_lengths = ops.sequence_string_projection(
      tf.constant(texts, dtype=tf.string), **attributes)
  np.testing.assert_array_equal(lengths, expected_lengths.numpy())
  np.testing.assert_array_equal(features, expected.numpy())
