"""The house rules, enforced: which group of modules may import which, and no import cycles.

Groups are the folders under ``monitor/`` plus ``service``. Every import counts: module level,
inside functions (lazy imports) and under ``TYPE_CHECKING`` alike, because each one couples
the importer to the imported module whether or not it runs at start-up.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("monitor", "service")

# group -> the groups it may import (its own included). ``monitor`` itself holds only the
# version string and may be imported by anyone.
ALLOWED: dict[str, set[str]] = {
    "core": {"core"},
    "trainer": {"core", "trainer"},
    "evals": {"evals"},
    "models": {"models"},
    "english": {"english"},
    "probe_building": {"core", "trainer", "evals", "probe_building"},
    "organism": {"core", "trainer", "evals", "probe_building", "organism"},
    "fixtures": {"core", "trainer", "fixtures"},
    "screening": {"core", "trainer", "screening"},
    "respond": {"core", "trainer", "evals", "organism", "screening", "respond"},
    "earlywarning": {
        "core",
        "trainer",
        "evals",
        "probe_building",
        "organism",
        "fixtures",
        "models",
        "english",
        "screening",
        "earlywarning",
    },
    "cli": {
        "core",
        "trainer",
        "evals",
        "probe_building",
        "organism",
        "fixtures",
        "earlywarning",
        "models",
        "english",
        "screening",
        "respond",
        "cli",
        "service",
    },
    "service": {"core", "service"},
}


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the two packages."""
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def imported_modules(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """The emwatch modules ``name`` imports, resolved to modules that exist."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            # ``from pkg import submodule`` imports the submodule; other names, the package.
            targets = [
                f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            if target.split(".")[0] in PACKAGES:
                while target not in known and "." in target:
                    target = target.rpartition(".")[0]
                yield target


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    known = set(modules)
    return {
        name: set(imported_modules(name, path, known)) - {name} for name, path in modules.items()
    }


def group(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "service":
        return "service"
    return parts[1] if len(parts) > 1 else "monitor"


def test_every_monitor_folder_is_a_known_group() -> None:
    folders = {
        path.name
        for path in (ROOT / "monitor").iterdir()
        if path.is_dir() and (path / "__init__.py").is_file()
    }
    assert folders == set(ALLOWED) - {"service"}, "add the new folder to ALLOWED with its rule"
    loose = [p.name for p in (ROOT / "monitor").glob("*.py") if p.name != "__init__.py"]
    assert loose == [], f"modules directly under monitor/ belong to a group: {loose}"


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{module} ({group(module)}) imports {target} ({group(target)})"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if group(target) != "monitor" and group(target) not in ALLOWED.get(group(module), set())
    ]


def test_imports_follow_the_layers() -> None:
    assert layer_violations(import_graph()) == []


def test_the_root_package_imports_nothing_of_emwatch() -> None:
    assert import_graph()["monitor"] == set()


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: every set of modules that import each other, directly or not."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, set()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_no_import_cycles() -> None:
    cycles = [c for c in strongly_connected(import_graph()) if len(c) > 1]
    assert cycles == []


def test_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [c for c in strongly_connected(graph) if len(c) > 1] == [["a", "b", "c"]]


def test_layer_check_flags_forbidden_imports() -> None:
    graph = {
        "monitor.core.wire": {"monitor.trainer.client", "monitor"},
        "service.ingest": {"monitor.core.scoring", "monitor.organism.judge"},
    }
    assert layer_violations(graph) == [
        "monitor.core.wire (core) imports monitor.trainer.client (trainer)",
        "service.ingest (service) imports monitor.organism.judge (organism)",
    ]


def test_the_running_service_loads_only_the_core() -> None:
    """What the interpreter really loads, lazy imports and package __init__ files included."""
    code = (
        "import json, sys; import service.app; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'monitor')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded = json.loads(out.stdout)
    assert loaded, "the service imports the core"
    assert [m for m in loaded if m != "monitor" and not m.startswith("monitor.core")] == []


def test_every_module_says_what_it_owns() -> None:
    """A stranger finds their way by the top docstrings; each module needs one."""
    missing = [
        str(path.relative_to(ROOT))
        for path in module_files().values()
        if not ast.get_docstring(ast.parse(path.read_text()))
    ]
    assert missing == []
