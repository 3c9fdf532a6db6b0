"""pqrnn_tf: tiny on-device text models (projection + QRNN) for TensorFlow and TFLite."""
import os

# tensorflow-model-optimization needs Keras 2 (tf_keras). This must be set before
# TensorFlow is first imported, so it lives at the very top of the package.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

__version__ = "0.1.0"
