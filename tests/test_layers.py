"""The package's layers (shared/ARCHITECTURE.md): each imports only the layers before it,
and any module can be imported first in a fresh interpreter (no import circle)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "layoutopt"

# Lowest first; a module may import its own layer and those before it.
LAYERS = [
    ("layoutopt", "layoutopt.errors", "layoutopt.versions", "layoutopt.progress"),
    ("layoutopt.scenario",),
    ("layoutopt.data",),
    ("layoutopt.geo",),
    # The builder of a province's data set converts GCJ-02 boundaries and measures roads,
    # so it stands above geo (the readers and checks of `data` stand below it).
    ("layoutopt.data.build",),
    ("layoutopt.demand",),
    ("layoutopt.engine",),
    ("layoutopt.results", "layoutopt.ledger", "layoutopt.decisions", "layoutopt.state"),
    ("layoutopt.programmes",),
    ("layoutopt.plan",),
    ("layoutopt.report",),
    ("layoutopt.cli",),
]


def modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def layer(module: str) -> int:
    best = None
    for k, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if prefix == "layoutopt" and module != "layoutopt":
                continue
            if module == prefix or module.startswith(prefix + "."):
                best = k
    assert best is not None, f"{module} belongs to no layer: add it to LAYERS"
    return best


def imports(module: str) -> set[str]:
    parts = module.split(".")
    path = PACKAGE.parent.joinpath(*parts)
    file = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    found = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {name for name in found if name.split(".")[0] == "layoutopt"}


def test_no_lower_layer_imports_a_higher_one():
    wrong = [
        f"{module} ({LAYERS[layer(module)][0]}) imports {name} ({LAYERS[layer(name)][0]})"
        for module in modules()
        for name in sorted(imports(module))
        if layer(name) > layer(module)
    ]
    assert not wrong, "\n".join(wrong)


def test_the_layer_test_sees_an_upward_import():
    assert layer("layoutopt.engine.solver") < layer("layoutopt.results")
    assert layer("layoutopt.report.maps") > layer("layoutopt.programmes.base")


FRESH = """
import importlib, sys, traceback
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "layoutopt" or m.startswith("layoutopt.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ": " + traceback.format_exc().splitlines()[-1])
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_module_imports_first_in_a_fresh_interpreter():
    result = subprocess.run(
        [sys.executable, "-c", FRESH, *modules()], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("module", ["layoutopt.data.calibration_report"])
def test_the_old_import_circle_is_gone(module):
    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
