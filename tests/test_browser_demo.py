"""The web demo (clients/js/web) answers like the Python predictor.

A small pQRNN is trained on part of ATIS and exported with `pqrnn-export
--portable`. The demo page and the model are served on 127.0.0.1; headless
Chromium (Debian's, driven by playwright-core from
clients/js/browser/drive_demo.mjs) runs 200 ATIS test sentences through the
page's `window.pqrnnPredict`: the JavaScript projection, LiteRT.js and the
JavaScript decoding. Intents and slot spans must equal those of
`pqrnn_tf.inference.TflitePredictor` on the same file for every sentence.
The test prints the page's median time per 16-token sentence (projection,
model run and decoding) and that of the projection alone.

`make test` installs Node, the npm packages and Chromium first (`make
js-client chromium`); PQRNN_SKIP_BROWSER=1 or PQRNN_SKIP_JS=1 skips this test.
PQRNN_UPDATE_SCREENSHOT=1 also writes the page's screenshot to
docs/web_demo.png.
"""
from __future__ import annotations

import dataclasses
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pqrnn_tf.data import readers
from pqrnn_tf.inference import TflitePredictor, portable
from pqrnn_tf.models import load_preset
from pqrnn_tf.train import trainer

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / "clients" / "js"
CHROMIUM = "/usr/bin/chromium"
NUM_SENTENCES = 200
# ATIS sentences have at most ~50 tokens: a limit of 62 text tokens plus BOS
# and EOS keeps the buckets at 16 / 32 / 64 and the export quick. BOS and EOS
# (not in pqrnn_small) make the page skip a row before the slot rows.
MAX_TOKENS = 62
BOS_EOS = {"add_bos": True, "add_eos": True}
MODEL_URL = "/__model__/portable.tflite"
SCREENSHOT_TEXT = "show me the cheapest flights from boston to san francisco on monday morning"


def _skip_reason() -> str | None:
  for variable in ("PQRNN_SKIP_BROWSER", "PQRNN_SKIP_JS"):
    if os.environ.get(variable) == "1":
      return f"{variable}=1"
  return None


@pytest.fixture(scope="module")
def tools() -> str:
  """The node executable, after checking Chromium and the npm packages."""
  reason = _skip_reason()
  if reason:
    pytest.skip(f"{reason}: the browser test is skipped")
  missing = []
  node = shutil.which("node")
  if node is None:
    missing.append("node")
  elif int(subprocess.run([node, "-p", "process.versions.node.split('.')[0]"], capture_output=True,
                          text=True, check=True).stdout) < 20:
    missing.append("node >= 20 (playwright-core needs it)")
  if not os.access(CHROMIUM, os.X_OK):
    missing.append(CHROMIUM)
  if not (JS / "node_modules" / "playwright-core").is_dir() or not (
      JS / "node_modules" / "@litertjs" / "core").is_dir():
    missing.append("clients/js/node_modules (npm ci)")
  if missing:
    pytest.fail(f"{', '.join(missing)} missing: run `make js-client chromium`, or set "
                "PQRNN_SKIP_BROWSER=1 to skip the browser test")
  return node


@pytest.fixture(scope="module")
def portable_model(tools, tmp_path_factory) -> Path:
  """A pqrnn_small (with BOS and EOS rows) trained briefly on ATIS, exported
  with --portable (int8)."""
  del tools  # only checked: no training when the test is skipped
  model_dir = tmp_path_factory.mktemp("run")
  train = readers.read_atis("train")[:800]
  dev = readers.read_atis("dev")[:100]
  model_config = load_preset("pqrnn_small")
  model_config = dataclasses.replace(
      model_config, projection={**model_config.projection, "max_tokens": MAX_TOKENS, **BOS_EOS})
  config = trainer.make_config(model_config, train, epochs=4, batch_size=32, seed=0,
                               data={"dataset": "atis"})
  trainer.train(config, str(model_dir), train, dev, verbose=0)
  output = tmp_path_factory.mktemp("export") / "portable.tflite"
  proc = subprocess.run(
      [sys.executable, "-m", "pqrnn_tf.export.cli", f"--model_dir={model_dir}",
       f"--output={output}", "--portable", "--num_calibration=100", "--min_agreement=0"],
      cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  settings = portable.read_settings(output.read_bytes(), str(output))
  assert {k: settings["projection"][k] for k in BOS_EOS} == BOS_EOS
  assert settings["buckets"] == [16, 32, MAX_TOKENS + 2]
  return output


class _DemoHandler(http.server.SimpleHTTPRequestHandler):
  """Serves clients/js, and the model under test at MODEL_URL."""
  model_path: Path

  def translate_path(self, path):
    if path.split("?", 1)[0] == MODEL_URL:
      return str(self.model_path)
    return super().translate_path(path)

  def log_message(self, format, *args):  # pylint: disable=redefined-builtin
    del format, args  # quiet: the driver reports failed requests


@pytest.fixture(scope="module")
def page_url(portable_model):
  handler = type("Handler", (_DemoHandler,), {"model_path": portable_model})
  server = http.server.ThreadingHTTPServer(
      ("127.0.0.1", 0), functools.partial(handler, directory=str(JS)))
  thread = threading.Thread(target=server.serve_forever, daemon=True)
  thread.start()
  try:
    yield f"http://127.0.0.1:{server.server_address[1]}/web/index.html?model={MODEL_URL}"
  finally:
    server.shutdown()
    server.server_close()


def utf16_offset(text: str, code_points: int) -> int:
  """A code point offset of `text` (Python) as a UTF-16 one (JavaScript)."""
  return len(text[:code_points].encode("utf-16-le")) // 2


def test_page_answers_like_python_predictor(tools, portable_model, page_url, tmp_path):
  sentences = [e.text for e in readers.read_atis("test")[:NUM_SENTENCES]]
  # One non-ASCII sentence and an empty one: offsets in UTF-16 and the prior.
  sentences += ["flights from Zürich 🛫 to boston", ""]
  sentences_path = tmp_path / "sentences.json"
  sentences_path.write_text(json.dumps(sentences), encoding="utf-8")
  screenshot = tmp_path / "web_demo.png"
  proc = subprocess.run(
      [tools, str(JS / "browser" / "drive_demo.mjs"), f"--page={page_url}",
       f"--sentences={sentences_path}", f"--screenshot={screenshot}",
       f"--screenshot_text={SCREENSHOT_TEXT}", f"--chromium={CHROMIUM}"],
      capture_output=True, text=True, timeout=300, check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  result = json.loads(proc.stdout)

  expected = TflitePredictor(portable_model).predict(sentences)
  assert len(result["predictions"]) == len(sentences)
  mismatches = []
  for text, want, got in zip(sentences, expected, result["predictions"]):
    want_slots = [{"type": s.type, "start": utf16_offset(text, s.start),
                   "end": utf16_offset(text, s.end)} for s in want.slots]
    got_slots = [{k: s[k] for k in ("type", "start", "end")} for s in got["slots"]]
    if got["intent"] != want.intent or got_slots != want_slots:
      mismatches.append(f"{text!r}: page {got['intent']} {got_slots}, "
                        f"Python {want.intent} {want_slots}")
  agreeing = len(sentences) - len(mismatches)
  print(f"\nbrowser demo (Chromium {result['chromium']}): {agreeing}/{len(sentences)} "
        f"sentences with the Python predictor's intent and slot spans; end to end "
        f"{1000 * result['end_to_end_ms']:.0f} us median per 16-token sentence "
        f"(projection + LiteRT.js run + decoding); projection alone "
        f"{result['projection_us']:.0f} us (pqrnn_base settings)")
  assert not mismatches, "\n".join(mismatches[:10])
  # The model must tag something, or equal slot lists would prove little.
  assert sum(len(p["slots"]) for p in result["predictions"]) > NUM_SENTENCES
  assert len({p["intent"] for p in result["predictions"]}) > 1

  assert screenshot.stat().st_size > 10_000
  if os.environ.get("PQRNN_UPDATE_SCREENSHOT") == "1":
    shutil.copyfile(screenshot, ROOT / "docs" / "web_demo.png")


def test_page_reports_a_model_it_cannot_load(tools, page_url, tmp_path):
  sentences_path = tmp_path / "sentences.json"
  sentences_path.write_text('["hi"]')
  missing = page_url.replace(MODEL_URL, "/__model__/missing.tflite")
  proc = subprocess.run(
      [tools, str(JS / "browser" / "drive_demo.mjs"), f"--page={missing}",
       f"--sentences={sentences_path}", f"--chromium={CHROMIUM}"],
      capture_output=True, text=True, timeout=120, check=False)
  assert proc.returncode == 2
  assert proc.stderr.strip().splitlines() == [
      "drive_demo.mjs: the page could not load its model: "
      "/__model__/missing.tflite: HTTP 404 File not found"], proc.stderr
