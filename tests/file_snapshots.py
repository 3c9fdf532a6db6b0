"""What a directory holds, to check that a failed command changed nothing."""
import os


def files_of(directory) -> dict[str, bytes]:
  """{relative path: bytes} of every file below `directory`."""
  out = {}
  for root, _, names in os.walk(directory):
    for name in names:
      path = os.path.join(root, name)
      with open(path, "rb") as f:
        out[os.path.relpath(path, directory)] = f.read()
  return out
