"""The package's shape: import layers, no import cycles, small modules, regular packages.

The layers are declared once, in ``pyproject.toml`` ([tool.importlinter]), and drawn in
``docs/architecture.md``. Function-level (lazy) imports count like module-level ones.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PKG = REPO / "posetools"
MAX_LINES = 450


def test_import_layer_contracts_hold():
    pytest.importorskip("importlinter", reason="import-linter is part of the [dev] extra")
    script = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert script, "import-linter is installed but its lint-imports script is not beside python"
    res = subprocess.run([script, "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "0 broken" in res.stdout


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_lazy_imports_included():
    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter ([dev] extra)")
    g = grimp.build_graph("posetools")
    graph = {m: set(g.find_modules_directly_imported_by(m)) for m in g.modules}
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_modules_are_small():
    long = {str(p.relative_to(REPO)): n for p in PKG.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_every_package_folder_is_a_regular_package():
    missing = [str(d.relative_to(REPO)) for d in [PKG, *PKG.rglob("*")]
               if d.is_dir() and d.name != "__pycache__" and not (d / "__init__.py").is_file()]
    assert not missing, f"folders without __init__.py (left out of wheels): {missing}"
