"""TFLite Metadata: label lists inside the model, written and read back."""

import io
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from ai_edge_litert import schema_py_generated as schema

from pqrnn_tf import lite
from pqrnn_tf.export import converter, metadata
from pqrnn_tf.inference import TflitePredictor, read_labels
from pqrnn_tf.inference import metadata as md
from tests.conftest import TEXTS
from tests.test_export import model  # noqa: F401  (the suite's tiny model)

INTENTS = ["book_flight", "fare", "ground", "greet", "other"]
TAGS = ["O", "B-city", "I-city", "B-date", "I-date", "B-time", "I-time"]


@pytest.fixture(scope="module")
def flatbuffer(model):  # noqa: F811
  return converter.convert(model, "none")


def with_metadata(flatbuffer, **overrides):
  kwargs = dict(name="tiny_pqrnn", version="1", description="A test model.",
                intent_labels=INTENTS, slot_labels=TAGS)
  return metadata.add_metadata(flatbuffer, **{**kwargs, **overrides})


def outputs(path, texts):
  runner = lite.load_interpreter(str(path)).get_signature_runner()
  return runner(text=np.array([t.encode() for t in texts], dtype=object))


def test_labels_round_trip_and_the_model_still_runs(flatbuffer, tmp_path):
  plain, packed = tmp_path / "plain.tflite", tmp_path / "packed.tflite"
  plain.write_bytes(flatbuffer)
  packed.write_bytes(with_metadata(flatbuffer))
  intents, tags = read_labels(packed)
  assert intents.labels == tuple(INTENTS) and tags.labels == tuple(TAGS)
  assert tags.fallback == "O"
  assert read_labels(plain) is None
  # Same graph and weights: LiteRT gives the very same outputs.
  want, got = outputs(plain, list(TEXTS)), outputs(packed, list(TEXTS))
  assert sorted(got) == sorted(want)
  for name in want:
    np.testing.assert_array_equal(got[name], want[name])


def test_layout_is_what_tflite_support_reads(flatbuffer):
  packed = with_metadata(flatbuffer)
  files = md.output_label_files(md.metadata_buffer(packed))
  assert files == {"intent_probs": metadata.INTENT_LABELS_FILE,
                   "slot_probs": metadata.SLOT_LABELS_FILE}
  with zipfile.ZipFile(io.BytesIO(packed)) as archive:
    assert sorted(archive.namelist()) == sorted(files.values())
    assert archive.read(metadata.INTENT_LABELS_FILE).decode() == "".join(
        f"{x}\n" for x in INTENTS)


def test_predictor_prefers_the_labels_inside(flatbuffer, tmp_path):
  path = tmp_path / "model.tflite"
  path.write_bytes(with_metadata(flatbuffer))
  # Sidecar files that disagree: the labels inside the model win.
  (tmp_path / "model.intents.txt").write_text("".join(f"x{k}\n" for k in range(5)))
  [p] = TflitePredictor(path).predict(["book a flight to boston"])
  assert p.intent in INTENTS
  assert all(t.tag in TAGS for t in p.tokens)


def test_adding_again_replaces_the_metadata(flatbuffer, tmp_path):
  renamed = ["a", "b", "c", "d", "e"]
  path = tmp_path / "twice.tflite"
  path.write_bytes(with_metadata(with_metadata(flatbuffer), intent_labels=renamed))
  assert read_labels(path)[0].labels == tuple(renamed)
  assert sum(name == md.METADATA_NAME for name in metadata_names(path.read_bytes())) == 1


def metadata_names(content):
  m = schema.Model.GetRootAs(content, 0)
  return [m.Metadata(i).Name().decode() for i in range(m.MetadataLength())]


def test_labels_must_fit_the_outputs(flatbuffer):
  with pytest.raises(ValueError, match="4 labels for 'intent_probs'"):
    with_metadata(flatbuffer, intent_labels=INTENTS[:4])
  with pytest.raises(ValueError, match="slot_probs"):
    with_metadata(flatbuffer, slot_labels=None)


def test_reader_imports_no_tensorflow(flatbuffer, tmp_path):
  path = tmp_path / "packed.tflite"
  path.write_bytes(with_metadata(flatbuffer))
  code = ("import sys\n"
          "from pqrnn_tf.inference import read_labels\n"
          f"print(','.join(read_labels({str(path)!r})[0].labels))\n"
          "assert 'tensorflow' not in sys.modules\n")
  proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                        timeout=120)
  assert proc.returncode == 0, proc.stderr
  assert proc.stdout.strip() == ",".join(INTENTS)
