"""The JavaScript projection (clients/js) against the Python reference.

- `node --test` on clients/js/test/*.test.mjs (golden vectors, UTF-16 strings, the zip
  reader, decoding) passes;
- clients/js/unicode_lowercase.js is what `gen_unicode_tables.py --js` writes
  (so it follows the C++ table's source, Python 3.11's unicodedata);
- `node clients/js/conformance.mjs SETTINGS` gives the features of
  tests/projection_reference.py on seeded random byte strings under random
  settings, and byte spans that cover exactly the text of each token.

`make test` installs Node first (`make js-client`); PQRNN_SKIP_JS=1 skips
these tests on a machine without it.
"""
from __future__ import annotations

import base64
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests import projection_reference as reference

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / "clients" / "js"


@pytest.fixture(scope="module")
def node() -> str:
  path = shutil.which("node")
  if path is None:
    message = "node not found: run `make js-client` (apt-get install nodejs npm)"
    if os.environ.get("PQRNN_SKIP_JS") == "1":
      pytest.skip(message + "; skipped because PQRNN_SKIP_JS=1")
    pytest.fail(message + ", or set PQRNN_SKIP_JS=1 to skip")
  if os.environ.get("PQRNN_SKIP_JS") == "1":
    pytest.skip("PQRNN_SKIP_JS=1")
  return path


def test_node_unit_tests(node):
  # Files, not the folder: how `node --test` reads a folder changed across Node versions.
  files = sorted(str(p.relative_to(JS)) for p in (JS / "test").glob("*.test.mjs"))
  assert len(files) >= 3, files
  proc = subprocess.run([node, "--test", *files], cwd=JS, capture_output=True, text=True,
                        timeout=300, check=False)
  assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_lowercase_table_is_generated():
  proc = subprocess.run([sys.executable, str(ROOT / "custom_ops" / "tools" / "gen_unicode_tables.py"),
                         "--js"], capture_output=True, text=True, check=True)
  assert (JS / "unicode_lowercase.js").read_text(encoding="utf-8") == proc.stdout


# Pieces the random strings are made of: ASCII words, capitals of several
# scripts (Greek final sigma, dotted I, titlecase digraphs, Deseret), CJK,
# kana and Thai (one-character tokens), emoji, every kind of whitespace,
# separators, runs of one letter, and bytes that are not UTF-8.
_PIECES = [
    b"book", b"a", b"flight", b"TO", b"Boston", b"aaaa", b"zzzzzz", b"--", b"x,y",
    "ΟΔΥΣΣΕΥΣ".encode(), "İstanbul".encode(), "ǅemal".encode(), "Crème".encode(),
    "𐐀𐐁".encode(), "ＡＢＣ".encode(), "我爱北京".encode(), "カタカナ".encode(),
    "สวัสดี".encode(), "👩‍💻".encode(), "❤️".encode(), "\u00df".encode(),
    b" ", b"  ", b"\t", b"\r", "\u3000".encode(), "\u00a0".encode(), "\u2028".encode(),
    "\u0085".encode(), b"\x00", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc3",
    b"\xe2\x82", b"\xff", b"\x80", b"\xf0\x9f\x8d",
]
_SEPARATORS = ["", "-", ",-", "aé", "X"]


def _random_text(rng: random.Random) -> bytes:
  return b"".join(rng.choice(_PIECES) for _ in range(rng.randrange(0, 14)))


def _random_settings(rng: random.Random) -> dict:
  return {
      "feature_size": rng.choice([1, 31, 64, 100, 512]),
      "max_tokens": rng.choice([0, 0, 1, 3, 8]),
      "lowercase": rng.random() < 0.7,
      "separators": rng.choice(_SEPARATORS),
      "split_unsegmented_scripts": rng.random() < 0.5,
      "max_repeated_chars": rng.choice([0, 0, 1, 2]),
      "add_bos": rng.random() < 0.3,
      "add_eos": rng.random() < 0.3,
      "char_ngram_size": rng.choice([0, 0, 1, 3, 8]),
  }


def _tokens(data: bytes, settings: dict, max_tokens: int | None = None) -> list[list[int]]:
  keys = ("lowercase", "separators", "split_unsegmented_scripts", "max_repeated_chars")
  limit = settings["max_tokens"] if max_tokens is None else max_tokens
  return reference.text_tokens(data, max_tokens=limit, **{k: settings[k] for k in keys})


def _check_spans(data: bytes, spans: list[list[int]], settings: dict, where: str) -> None:
  """Each span holds exactly its token; what lies between spans holds none."""
  tokens = _tokens(data, settings)
  assert len(spans) == len(tokens), where
  previous_end = 0
  for (start, end), token in zip(spans, tokens):
    assert previous_end <= start < end <= len(data), where
    assert _tokens(data[previous_end:start], settings, max_tokens=0) == [], where
    assert _tokens(data[start:end], settings, max_tokens=0) == [token], where
    previous_end = end


def test_conformance_command_matches_reference(node, tmp_path):
  rng = random.Random(20261207)
  checked = 0
  for round_ in range(12):
    settings = _random_settings(rng)
    texts = [_random_text(rng) for _ in range(80)]
    # A token of more than 127 hashes (n-grams) makes the JavaScript sums
    # leave their packed 8-bit lanes.
    long_token = bytes(rng.choice(b"abcdeXYZ") for _ in range(rng.randrange(120, 400)))
    texts = [t.replace(b"\n", b" ") for t in texts] + [b"", b"a\r", "ÀÉ  x".encode(), long_token]
    settings_path = tmp_path / f"settings{round_}.json"
    settings_path.write_text(json.dumps(settings))
    proc = subprocess.run([node, str(JS / "conformance.mjs"), str(settings_path)],
                          input=b"\n".join(texts), capture_output=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == len(texts), settings
    for text, line in zip(texts, lines):
      where = f"{text!r} under {settings}"
      features, lengths = reference.project([text], **settings)
      rows = int(lengths[0])
      want = features[0, :rows].astype("<f4").tobytes()
      got = json.loads(line)
      assert got["rows"] == rows, where
      assert base64.b64decode(got["features"]) == want, where
      _check_spans(text, got["spans"], settings, where)
      # Python's json.dumps formatting, as the contract requires.
      assert line == json.dumps(got), where
      checked += 1
  assert checked == 12 * 84


def test_conformance_reads_lines_as_the_contract_says(node, tmp_path):
  settings_path = tmp_path / "settings.json"
  settings_path.write_text("{}")
  # \r stays in its line, a last line without \n counts, an empty line is a text.
  data = b"one\r\n\ntwo words"
  proc = subprocess.run([node, str(JS / "conformance.mjs"), str(settings_path)], input=data,
                        capture_output=True, timeout=60, check=True)
  got = [json.loads(line) for line in proc.stdout.decode().splitlines()]
  assert [g["rows"] for g in got] == [1, 0, 2]
  assert [g["spans"] for g in got] == [[[0, 3]], [], [[0, 3], [4, 9]]]
  expected = reference.project([b"one\r"])[0][0, :1].astype("<f4").tobytes()
  assert base64.b64decode(got[0]["features"]) == expected


@pytest.mark.parametrize("settings, message", [
    ('{"feature_size": 0}', "'feature_size' must be an integer in [1, 16384], got 0"),
    ('{"featur_size": 8}', "unknown projection attribute 'featur_size'"),
    ('{"lowercase": 1}', "'lowercase' must be true or false, got 1"),
    ('{"distortion_probability": 0.5}', "distortion_probability must be 0 for inference"),
    ("{not json", "not valid JSON"),
])
def test_conformance_refuses_bad_settings(node, tmp_path, settings, message):
  settings_path = tmp_path / "settings.json"
  settings_path.write_text(settings)
  proc = subprocess.run([node, str(JS / "conformance.mjs"), str(settings_path)], input="x",
                        capture_output=True, text=True, timeout=60, check=False)
  assert proc.returncode == 2
  assert proc.stdout == ""
  assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
  assert str(settings_path) in proc.stderr and message in proc.stderr, proc.stderr



def test_lowercase_of_every_code_point(node):
  """lowercaseCodePoint equals the spec's mapping (Python 3.11's unicodedata)
  on all of U+0000..U+10FFFF (surrogates included: the table leaves them)."""
  script = ("import('./projection.js').then(({lowercaseCodePoint}) => {"
            "  const out = new Uint32Array(0x110000);"
            "  for (let c = 0; c < 0x110000; ++c) out[c] = lowercaseCodePoint(c);"
            "  process.stdout.write(Buffer.from(out.buffer));"
            "});")
  proc = subprocess.run([node, "--input-type=module", "-e", script], cwd=JS, capture_output=True,
                        timeout=120, check=True)
  got = np.frombuffer(proc.stdout, dtype="<u4")
  want = np.array([c if 0xD800 <= c <= 0xDFFF else reference.lower_code_point(c)
                   for c in range(0x110000)], dtype=np.uint32)
  changed = np.flatnonzero(want != np.arange(0x110000))
  assert len(changed) > 1000  # the table is not empty
  mismatch = np.flatnonzero(got != want)
  assert mismatch.size == 0, [f"U+{c:04X}: {got[c]:X} != {want[c]:X}" for c in mismatch[:10]]
