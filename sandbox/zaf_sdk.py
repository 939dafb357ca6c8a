"""Fetch Zendesk's ZAF SDK from npm (`zendesk_app_framework_sdk`) and bundle it for a browser.

The npm package ships CommonJS sources (`lib/index.js`, `client.js`, `utils.js`, a Promise polyfill) and no
built file, so the bundle wraps each unmodified source in a tiny `require` shim and exposes
`window.ZAFClient`, as Zendesk's hosted `zaf_sdk.min.js` does. Used by browser tests; never committed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "zendesk_app_framework_sdk"


class SdkUnavailable(RuntimeError):
    """npm is missing or the package could not be fetched."""


def fetch_package(cache_dir: Path) -> Path:
    """`npm pack` the SDK into `cache_dir` once; returns the extracted `package/` directory."""
    package_dir = cache_dir / "package"
    if (package_dir / "lib" / "index.js").exists():
        return package_dir
    npm = shutil.which("npm")
    if npm is None:
        raise SdkUnavailable("npm is not installed")
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        try:
            subprocess.run(
                [npm, "pack", PACKAGE, "--pack-destination", scratch],
                check=True,
                timeout=180,
                capture_output=True,
                cwd=scratch,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            raise SdkUnavailable(f"npm pack {PACKAGE} failed: {exc}") from exc
        archives = list(Path(scratch).glob("*.tgz"))
        if not archives:
            raise SdkUnavailable("npm pack produced no archive")
        with tarfile.open(archives[0]) as archive:
            archive.extractall(cache_dir, filter="data")
    return package_dir


def build_bundle(package_dir: Path) -> str:
    """A browser script defining `window.ZAFClient` from the package's unmodified CommonJS sources."""
    lib = package_dir / "lib"
    modules = {}
    for path in sorted(lib.rglob("*.js")):
        name = "./" + path.relative_to(lib).with_suffix("").as_posix()
        modules[name] = path.read_text(encoding="utf-8")
    parts = ["(function () {", "var sources = {};"]
    for name, source in modules.items():
        parts.append(f"sources[{json.dumps(name)}] = function (require, module, exports) {{\n{source}\n}};")
    parts.append("""
var cache = {};
function load(name) {
  if (cache[name]) { return cache[name].exports; }
  var module = cache[name] = {exports: {}};
  var base = name.slice(0, name.lastIndexOf("/") + 1);
  var localRequire = function (request) { return load(resolve(base, request)); };
  sources[name].call(window, localRequire, module, module.exports);
  return module.exports;
}
function resolve(base, request) {
  var parts = (base + request).split("/"), out = [];
  parts.forEach(function (part) {
    if (part === "..") { out.pop(); } else if (part !== "." || !out.length) { out.push(part); }
  });
  return out.join("/");
}
window.ZAFClient = load("./index");
}());""")
    return "\n".join(parts)


def sdk_bundle(cache_dir: Path) -> str:
    """Fetch (once) and bundle the SDK; raises SdkUnavailable when npm cannot provide it."""
    target = cache_dir / "zaf_sdk.bundle.js"
    if target.exists():
        return target.read_text(encoding="utf-8")
    bundle = build_bundle(fetch_package(cache_dir))
    target.write_text(bundle, encoding="utf-8")
    return bundle
