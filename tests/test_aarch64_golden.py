"""The TFLite kernels give the same bits on aarch64 as on x86-64.

custom_ops/arm/build.sh compiles custom_ops/arm/kernel_runner.cc, the C++ core
and the TFLite kernels twice: for this machine and, with Debian's
g++-aarch64-linux-gnu, for aarch64 (run here under qemu-aarch64). The runner
drives the kernels through PqrnnRegisterTfLiteOps and their init / prepare /
invoke functions with hand-built TfLiteContext and TfLiteTensor structs, the
way the TFLite interpreter calls them on a phone. Both binaries get the same
requests: every golden string under every golden setting
(tests/golden_projection.json, custom options encoded as FlexBuffers like the
converter writes them), fo-pooling and the fused QRNN op on random inputs.
The tests check the two outputs byte for byte and each against the golden
vectors / a numpy float32 recurrence / a float64 reference of the QRNN op.

`make test` installs the toolchain first (`make aarch64-toolchain`), so a
missing compiler or qemu fails here. Set PQRNN_SKIP_AARCH64=1 to skip these
tests on a machine where that install is impossible.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from flatbuffers import flexbuffers

ROOT = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = ROOT / "custom_ops" / "arm" / "build.sh"
GOLDEN = json.loads((ROOT / "tests" / "golden_projection.json").read_text(encoding="utf-8"))
AARCH64_CXX = os.environ.get("AARCH64_CXX", "aarch64-linux-gnu-g++")
QEMU = "qemu-aarch64"
ARCHES = ("host", "aarch64")
# Not op attributes: the invocation whose output the golden vectors hold.
CALL_INDEX = "call_index"


@pytest.fixture(scope="module")
def runners(tmp_path_factory) -> dict[str, list[str]]:
  """arch -> the command that runs kernel_runner built for it."""
  missing = [tool for tool in (AARCH64_CXX, QEMU) if shutil.which(tool) is None]
  if missing:
    message = (f"{', '.join(missing)} not found: run `make aarch64-toolchain` (apt-get "
               "install g++-aarch64-linux-gnu qemu-user)")
    if os.environ.get("PQRNN_SKIP_AARCH64") == "1":
      pytest.skip(message + "; skipped because PQRNN_SKIP_AARCH64=1")
    pytest.fail(message + ", or set PQRNN_SKIP_AARCH64=1 to skip")
  out = tmp_path_factory.mktemp("arm")
  start = time.monotonic()
  proc = subprocess.run(["bash", str(BUILD_SCRIPT), str(out)], cwd=ROOT, capture_output=True,
                        text=True, timeout=900, check=False)
  if proc.returncode != 0:
    pytest.fail(f"{BUILD_SCRIPT.name} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
  print(f"host + aarch64 build: {time.monotonic() - start:.1f} s")
  return {"host": [str(out / "kernel_runner-host")],
          "aarch64": [QEMU, str(out / "kernel_runner-aarch64")]}


def run(command: list[str], requests: list[str], env: dict | None = None) -> list[str]:
  """The runner's answer to each request line (`env`: added to the environment)."""
  start = time.monotonic()
  proc = subprocess.run(command, input="\n".join(requests) + "\n", capture_output=True,
                        text=True, timeout=600, check=False, env={**os.environ, **(env or {})})
  print(f"{' '.join(command)}: {len(requests)} requests in {time.monotonic() - start:.2f} s")
  assert proc.returncode == 0, f"{command} exited {proc.returncode}: {proc.stderr}"
  answers = proc.stdout.splitlines()
  assert len(answers) == len(requests), proc.stdout + proc.stderr
  return answers


def hex_or_dash(data: bytes) -> str:
  return data.hex() or "-"


def decode_outputs(answer: str) -> list[tuple[tuple[int, ...], bytes]]:
  """The output tensors of an "ok" answer: (dims, raw little-endian bytes)."""
  status, *tensors = answer.split(" ")
  assert status == "ok", answer
  outputs = []
  for tensor in tensors:
    dims, data = tensor.split("=")
    outputs.append((tuple(int(d) for d in dims.split(",")), bytes.fromhex(data)))
  return outputs


# ---------------------------------------------------------------- projection

def projection_requests() -> list[tuple[str, str, str]]:
  """(case, setting, request line) for every golden case and setting."""
  requests = []
  for case in GOLDEN["cases"]:
    for setting, attrs in GOLDEN["settings"].items():
      op_attrs = {k: v for k, v in attrs.items() if k != CALL_INDEX}
      options = flexbuffers.Dumps({"feature_size": GOLDEN["feature_size"], **op_attrs})
      calls = attrs.get(CALL_INDEX, 0) + 1
      line = f"project {options.hex()} {calls} {hex_or_dash(bytes.fromhex(case['input_hex']))}"
      requests.append((case["name"], setting, line))
  return requests


PROJECTION_REQUESTS = projection_requests()


@pytest.fixture(scope="module")
def projection_answers(runners) -> dict[str, list[str]]:
  lines = [line for _, _, line in PROJECTION_REQUESTS]
  return {arch: run(runners[arch], lines) for arch in ARCHES}


def golden_features(result: dict) -> np.ndarray:
  """[sequence_length, feature_size] float32 from a golden result's rows."""
  features = np.zeros((result["sequence_length"], GOLDEN["feature_size"]), np.float32)
  for row, entry in zip(features, result["rows"]):
    if "values" in entry:
      for index, value in entry["values"]:
        row[index] = np.float32(value)  # shortest decimal that reads back exactly
    else:
      row[entry["plus"]] = 1
      row[entry["minus"]] = -1
  return features


def test_projection_same_bits_on_aarch64_and_host(projection_answers):
  for (case, setting, _), host, arm in zip(PROJECTION_REQUESTS, projection_answers["host"],
                                           projection_answers["aarch64"]):
    assert arm == host, f"{case} / {setting}: aarch64 and host outputs differ"


@pytest.mark.parametrize("arch", ARCHES)
def test_projection_matches_golden_vectors(projection_answers, arch):
  results = {c["name"]: c["results"] for c in GOLDEN["cases"]}
  for (case, setting, _), answer in zip(PROJECTION_REQUESTS, projection_answers[arch]):
    (feature_dims, feature_bytes), (length_dims, length_bytes) = decode_outputs(answer)
    expected = golden_features(results[case][setting])
    where = f"{arch}: {case} / {setting}"
    # A batch of one: [1, max(1, len), feature_size] and [1].
    assert feature_dims == (1, max(1, len(expected)), GOLDEN["feature_size"]), where
    assert length_dims == (1,), where
    assert np.frombuffer(length_bytes, "<i4")[0] == len(expected), where
    features = np.frombuffer(feature_bytes, "<f4").reshape(feature_dims)[0]
    np.testing.assert_array_equal(features[:len(expected)].view(np.uint32),
                                  expected.view(np.uint32), err_msg=where)
    assert not features[len(expected):].any(), f"{where}: padding rows are not zero"


def test_projection_invalid_attribute_is_reported_on_aarch64(runners):
  # The error path (FlexBuffer reading and validation) on both architectures.
  request = f"project {flexbuffers.Dumps({'feature_size': 0}).hex()} 1 {b'hi'.hex()}"
  answers = {arch: run(runners[arch], [request])[0] for arch in ARCHES}
  assert answers["aarch64"] == answers["host"]
  assert answers["aarch64"].startswith("error ") and "feature_size" in answers["aarch64"]


# ---------------------------------------------------------------- fo-pooling

# (batch, time, units, lengths): full, partial and empty sentences.
FO_POOLING_SHAPES = [(1, 1, 1, [1]), (3, 9, 37, [9, 4, 0]), (2, 40, 128, [40, 17])]


def fo_pool_reference(u, f, lengths, reverse):
  """The spec's recurrence in numpy float32: one multiply, then one add."""
  c = np.zeros_like(u)
  for b, length in enumerate(lengths):
    steps = range(length - 1, -1, -1) if reverse else range(length)
    state = np.zeros(u.shape[2], np.float32)
    for t in steps:
      state = f[b, t] * state + u[b, t]
      c[b, t] = state
  return c


def fo_pooling_cases():
  rng = np.random.default_rng(7)
  cases = []
  for batch, time_, units, lengths in FO_POOLING_SHAPES:
    u = rng.uniform(-2, 2, (batch, time_, units)).astype(np.float32)
    f = rng.uniform(0, 1, (batch, time_, units)).astype(np.float32)
    lengths = np.array(lengths, np.int32)
    for reverse in (False, True):
      options = flexbuffers.Dumps({"reverse": reverse})
      line = (f"fo_pool {options.hex()} {batch} {time_} {units} {lengths.astype('<i4').tobytes().hex()} "
              f"{u.astype('<f4').tobytes().hex()} {f.astype('<f4').tobytes().hex()}")
      cases.append((f"{batch}x{time_}x{units} reverse={reverse}", line,
                    fo_pool_reference(u, f, lengths, reverse)))
  return cases


FO_POOLING_CASES = fo_pooling_cases()


@pytest.fixture(scope="module")
def fo_pooling_answers(runners) -> dict[str, list[str]]:
  lines = [line for _, line, _ in FO_POOLING_CASES]
  return {arch: run(runners[arch], lines) for arch in ARCHES}


def test_fo_pooling_same_bits_on_aarch64_and_host(fo_pooling_answers):
  for (name, _, _), host, arm in zip(FO_POOLING_CASES, fo_pooling_answers["host"],
                                     fo_pooling_answers["aarch64"]):
    assert arm == host, f"{name}: aarch64 and host outputs differ"


@pytest.mark.parametrize("arch", ARCHES)
def test_fo_pooling_matches_float32_recurrence(fo_pooling_answers, arch):
  # A fused multiply-add (f * c + u rounded once) would differ in the last bits.
  for (name, _, expected), answer in zip(FO_POOLING_CASES, fo_pooling_answers[arch]):
    [(dims, data)] = decode_outputs(answer)
    assert dims == expected.shape, f"{arch}: {name}"
    c = np.frombuffer(data, "<f4").reshape(dims)
    np.testing.assert_array_equal(c.view(np.uint32), expected.view(np.uint32),
                                  err_msg=f"{arch}: {name}")


# (batch, time, units, kernel_width, bidirectional, lengths); large gate sums
# (scale) saturate tanh and sigmoid.
QRNN_POOLING_SHAPES = [(1, 1, 1, 2, True, [1], 1.0), (3, 9, 37, 2, True, [9, 4, 0], 3.0),
                       (2, 13, 16, 3, False, [13, 6], 30.0),
                       # pqrnn_base's layer: x86-64's vector copies of the unit loop.
                       (1, 16, 128, 2, True, [16], 3.0)]


def qrnn_pooling_cases():
  from tests.qrnn_pooling_reference import reference  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(8)
  cases = []
  for batch, time_, units, width, bidirectional, lengths, scale in QRNN_POOLING_SHAPES:
    channels = (2 if bidirectional else 1) * width * 3 * units
    taps = (scale * rng.normal(size=(batch, time_, channels))).astype(np.float32)
    lengths = np.array(lengths, np.int32)
    options = flexbuffers.Dumps({"kernel_width": width, "bidirectional": bidirectional})
    line = (f"qrnn_pool {options.hex()} {batch} {time_} {channels} "
            f"{lengths.astype('<i4').tobytes().hex()} {taps.astype('<f4').tobytes().hex()}")
    cases.append((f"{batch}x{time_}x{channels} width={width}", line,
                  reference(taps, lengths, width, bidirectional)))
  return cases


QRNN_POOLING_CASES = qrnn_pooling_cases()


@pytest.fixture(scope="module")
def qrnn_pooling_answers(runners) -> dict[str, list[str]]:
  lines = [line for _, line, _ in QRNN_POOLING_CASES]
  return {arch: run(runners[arch], lines) for arch in ARCHES}


def test_qrnn_pooling_same_bits_on_aarch64_and_host(qrnn_pooling_answers):
  for (name, _, _), host, arm in zip(QRNN_POOLING_CASES, qrnn_pooling_answers["host"],
                                     qrnn_pooling_answers["aarch64"]):
    assert arm == host, f"{name}: aarch64 and host outputs differ"


# QrnnPool's x86-64 copies (custom_ops/core/fo_pooling.cc); PQRNN_X86_COPY picks
# one, so each copy the CPU has runs here whatever the best one is.
X86_COPIES = ("sse", "avx2", "avx512")


@pytest.mark.parametrize("copy", X86_COPIES)
def test_every_x86_copy_of_qrnn_pooling_gives_the_aarch64_bits(runners, qrnn_pooling_answers,
                                                              copy):
  lines = [line for _, line, _ in QRNN_POOLING_CASES]
  answers = run(runners["host"], lines, env={"PQRNN_X86_COPY": copy})
  for (name, _, _), host, arm in zip(QRNN_POOLING_CASES, answers,
                                     qrnn_pooling_answers["aarch64"]):
    assert host == arm, f"{name}: the {copy} copy and aarch64 differ"


def test_an_unknown_x86_copy_is_refused(runners):
  _, line, _ = QRNN_POOLING_CASES[0]
  proc = subprocess.run(runners["host"], input=line + "\n", capture_output=True, text=True,
                        timeout=60, check=False, env={**os.environ, "PQRNN_X86_COPY": "avx3"})
  assert "PQRNN_X86_COPY" in proc.stdout + proc.stderr


@pytest.mark.parametrize("arch", ARCHES)
def test_qrnn_pooling_matches_reference(qrnn_pooling_answers, arch):
  for (name, _, expected), answer in zip(QRNN_POOLING_CASES, qrnn_pooling_answers[arch]):
    [(dims, data)] = decode_outputs(answer)
    assert dims == expected.shape, f"{arch}: {name}"
    h = np.frombuffer(data, "<f4").reshape(dims)
    np.testing.assert_allclose(h, expected, atol=2e-6, err_msg=f"{arch}: {name}")
