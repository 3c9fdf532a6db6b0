"""benchmarks/architecture: each variant is pqrnn_base with only its own
settings changed, and is a preset pqrnn-train accepts."""
import pytest

from pqrnn_tf.benchmarks import architecture
from pqrnn_tf.models import check_config
from pqrnn_tf.models.config import load_preset


@pytest.mark.parametrize("variant", list(architecture.VARIANTS))
def test_variant_is_the_base_preset_with_its_changes(variant, tmp_path):
  path = architecture.write_preset(variant, str(tmp_path))
  config = check_config(load_preset(path))
  base = load_preset(architecture.BASE_PRESET)
  changes = architecture.VARIANTS[variant]
  for section in ("projection", "bottleneck", "encoder", "head"):
    got, want = getattr(config, section), getattr(base, section)
    assert got == {**want, **changes.get(section, {})}, section
  assert all(getattr(config, s) != getattr(base, s) for s in changes)
