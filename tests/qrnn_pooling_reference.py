"""PqrnnQrnnPooling's definition (custom_ops/README.md) in numpy float64, for
the op's tests and the aarch64 checks."""
import numpy as np


def sigmoid(x):
  return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow for large |x|


def reference(taps, lengths, kernel_width, bidirectional):
  """The op's definition (custom_ops/core/fo_pooling.h), step by step in float64."""
  directions = 2 if bidirectional else 1
  batch, time, width = taps.shape
  units = width // (directions * kernel_width * 3)
  t4 = taps.astype(np.float64).reshape(batch, time, directions, kernel_width, 3, units)
  h = np.zeros((batch, time, directions, units))
  for b, n in enumerate(lengths):
    for d in range(directions):
      c = np.zeros(units)
      steps = range(n - 1, -1, -1) if d == 1 else range(n)
      for i, t in enumerate(steps):
        g = np.zeros((3, units))
        for j in range(kernel_width):
          s = t + (kernel_width - 1 - j) * (1 if d == 1 else -1)
          if 0 <= s < n:
            g += t4[b, s, d, j]
        z, f, o = np.tanh(g[0]), sigmoid(g[1]), sigmoid(g[2])
        c = (1 - f) * z if i == 0 else f * c + (1 - f) * z
        h[b, t, d] = o * c
  return h.reshape(batch, time, directions * units)
