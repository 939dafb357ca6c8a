"""Every hook of ``app/hookspecs.py`` has a test: the rule, its collector and its run-time check.

The rule (``docs/plugins.md``, *Testing a plugin*): for every hook there is at least one test function under
``tests/`` (in a ``test_*.py`` module) marked ``@pytest.mark.hook("<name>", ...)`` (on the function, on its class,
or in the module's ``pytestmark``), and a marker names only hooks that exist. A marked test must make the core
dispatch each hook it names, in the test's own process, during its set-up or its call:
``pytest_runtest_call`` below fails a marked test that passes without the core asking pluggy for that hook's
implementations (``HookCaller.get_hookimpls``, which every dispatch of the core goes through).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pluggy
import pytest

TESTS = Path(__file__).resolve().parent

_dispatched: set[str] | None = None
_get_hookimpls = pluggy.HookCaller.get_hookimpls


def _recording_get_hookimpls(self: pluggy.HookCaller) -> Any:
    if _dispatched is not None:
        _dispatched.add(self.name)
    return _get_hookimpls(self)


def pytest_configure(config: pytest.Config) -> None:
    pluggy.HookCaller.get_hookimpls = _recording_get_hookimpls  # type: ignore[method-assign]


def pytest_unconfigure(config: pytest.Config) -> None:
    pluggy.HookCaller.get_hookimpls = _get_hookimpls  # type: ignore[method-assign]


def _marked_hooks(item: pytest.Item) -> set[str]:
    return {str(name) for marker in item.iter_markers("hook") for name in marker.args}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    global _dispatched
    _dispatched = set() if _marked_hooks(item) else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield  # a failing test fails on its own; the check below is for one that passes
    hooks = _marked_hooks(item)
    if hooks and _dispatched is not None:
        missing = sorted(hooks - _dispatched)
        if missing:
            pytest.fail(f"{item.nodeid} is marked hook({', '.join(map(repr, sorted(hooks)))}) but the core never "
                        f"dispatched {', '.join(missing)} while it ran (is the hook tested in another process, "
                        "or not at all?)", pytrace=False)
    return result


def pytest_runtest_teardown(item: pytest.Item) -> None:
    global _dispatched
    _dispatched = None


def _hook_names_in(node: ast.expr) -> list[str]:
    """The names given to every ``pytest.mark.hook(...)`` call inside ``node`` (a decorator or pytestmark)."""
    names = []
    for call in ast.walk(node):
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "hook"
                and isinstance(call.func.value, ast.Attribute) and call.func.value.attr == "mark"):
            names += [arg.value for arg in call.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
    return names


def marked_tests(root: Path = TESTS) -> dict[str, list[str]]:
    """``{hook name: [test ids]}`` for every test function under ``root`` marked with ``pytest.mark.hook``."""
    found: dict[str, list[str]] = {}

    def visit(body: list[ast.stmt], prefix: str, inherited: list[str]) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                names = inherited + [name for decorator in node.decorator_list for name in _hook_names_in(decorator)]
                visit(node.body, f"{prefix}::{node.name}", names)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
                names = inherited + [name for decorator in node.decorator_list for name in _hook_names_in(decorator)]
                for name in dict.fromkeys(names):
                    found.setdefault(name, []).append(f"{prefix}::{node.name}")

    for path in sorted(root.rglob("test_*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        module_marks = [name for node in tree.body if isinstance(node, ast.Assign)
                        and any(isinstance(target, ast.Name) and target.id == "pytestmark" for target in node.targets)
                        for name in _hook_names_in(node.value)]
        visit(tree.body, str(path.relative_to(root.parent)), module_marks)
    return found
