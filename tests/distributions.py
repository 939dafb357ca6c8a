"""Installing a distribution for a test without pip: a ``*.dist-info`` folder on ``sys.path``.

``importlib.metadata`` finds a distribution by its ``<name>-<version>.dist-info`` folder on ``sys.path``, which is
exactly what ``pip install`` writes; a folder with ``METADATA`` and ``entry_points.txt`` is enough for Deskmate to
see the distribution's entry points.
"""

from __future__ import annotations

import re
from pathlib import Path


def write_distribution(site: Path, name: str, version: str, entry_points: dict[str, dict[str, str]]) -> Path:
    """Write ``<site>/<name>-<version>.dist-info`` declaring ``entry_points`` (``{group: {name: value}}``)."""
    folder = site / f"{re.sub(r'[-_.]+', '_', name)}-{version}.dist-info"
    folder.mkdir(parents=True)
    (folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (folder / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in points.items()) + "\n"
        for group, points in entry_points.items()))
    return folder
