"""``flask zendesk package``: the sidebar app's upload zip, built only when every rule passes.

The package holds ``manifest.json``, ``requirements.json``, ``translations/*.json`` and ``assets/*.png`` from
the repository root. ``requirements.json`` names the webhook endpoint as ``__SERVICE_URL__``; the build fills
in the service URL (the manifest's ``service_url`` default too), checks the result, and writes
``dist/deskmate-<version>.zip`` with fixed timestamps, so the same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from app.install.rules import PLACEHOLDER, Finding, check_files, errors

ROOT = Path(__file__).resolve().parents[2]
PATTERNS = ("manifest.json", "requirements.json", "translations/*.json", "assets/*")
_EPOCH = (2024, 1, 1, 0, 0, 0)


class PackageRefused(Exception):
    """The app breaks a packaging rule; ``findings`` says which."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__("; ".join(str(finding) for finding in errors(findings)))
        self.findings = findings


@dataclass(frozen=True)
class Package:
    path: Path
    data: bytes
    version: str
    findings: list[Finding]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def collect(root: Path = ROOT) -> tuple[dict[str, bytes], list[str]]:
    """The package's files as ``{path: bytes}``, and the paths that are symbolic links."""
    files: dict[str, bytes] = {}
    symlinks: list[str] = []
    for pattern in PATTERNS:
        for path in sorted(root.glob(pattern)):
            relative = path.relative_to(root).as_posix()
            if path.is_symlink():
                symlinks.append(relative)
            elif path.is_file():
                files[relative] = path.read_bytes()
    return files, symlinks


def fill_service_url(files: dict[str, bytes], service_url: str) -> dict[str, bytes]:
    """The files with the service URL in the webhook endpoint and the ``service_url`` parameter's default."""
    service_url = service_url.rstrip("/")
    filled = dict(files)
    if "requirements.json" in filled:
        filled["requirements.json"] = filled["requirements.json"].replace(PLACEHOLDER.encode(),
                                                                          service_url.encode())
    if "manifest.json" in filled:
        try:
            manifest = json.loads(filled["manifest.json"])
        except ValueError:
            return filled  # the check reports it
        for parameter in manifest.get("parameters") or []:
            if isinstance(parameter, dict) and parameter.get("name") == "service_url":
                parameter["default"] = service_url
        filled["manifest.json"] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
    return filled


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[path])
    return buffer.getvalue()


def build(service_url: str, *, root: Path = ROOT, out_dir: Path | None = None) -> Package:
    """Check and zip the app for ``service_url``; writes it under ``out_dir`` (``dist/``) when given.

    Raises:
        PackageRefused: any rule is broken (warnings do not refuse).
    """
    files, symlinks = collect(root)
    files = fill_service_url(files, service_url)
    findings = check_files(files, symlinks=symlinks)
    if errors(findings):
        raise PackageRefused(findings)
    version = str(json.loads(files["manifest.json"]).get("version") or "0.0.0")
    data = zip_bytes(files)
    path = (out_dir or root / "dist") / f"deskmate-{version}.zip"
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return Package(path=path, data=data, version=version, findings=findings)


def read_zip(data: bytes) -> dict[str, bytes]:
    """A built package's files (for checking what was actually zipped)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist() if not name.endswith("/")}
