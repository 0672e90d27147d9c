"""Dockerfile checks (``scope="dockerfile"``): ``fn(text, file)`` yields ``(line, message)``; a check that reads
the build context (``.gitignore``, ``.dockerignore``, ``package.json``, ``pyproject.toml`` beside the
Dockerfile) is ``fn(text, file, read)`` with a :data:`~tools.checks.dockerfile.parsing.Reader`.

Modules: :mod:`.parsing` (instructions, stages, image families), :mod:`.basics` (root, secrets, pinning,
caches), :mod:`.runtime` (what the final stage runs), :mod:`.build` (what breaks a build),
:mod:`.hygiene` (hadolint's security and reproducibility rules).
"""

from tools.checks.dockerfile import basics, build, hygiene, runtime  # noqa: F401 - registers the checks
from tools.checks.dockerfile.parsing import Instruction, from_image, parse, stages, unpinned

__all__ = ["Instruction", "from_image", "parse", "stages", "unpinned"]
