"""The package's floors (README, "Architecture"): every import, lazy ones included, runs from a
floor down to a lower one or within its own; no module imports another's private names; no
import circle between modules."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tfpose"

# Bottom to top. A room is a subpackage or a top-level module.
FLOORS = [
    {"errors", "files", "config", "keypoints", "argtypes"},
    {"layers"},
    {"models", "losses"},
    {"codecs", "visualize"},
    {"data"},
    {"runtime"},
    {"evaluation", "op_profile", "benchmark"},
    {"weights"},
    {"engine"},
    {"inference"},
    {"export"},
    {"api"},
    {"cli"},
]
FLOOR = {room: level for level, rooms in enumerate(FLOORS) for room in rooms}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def imports(path: Path):
    """(imported module, imported name or None, line) of every tfpose import in ``path``."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.split(".")[0] != "tfpose":
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                is_module = (PACKAGE.parent / Path(*submodule.split("."))).with_suffix(
                    ".py").is_file() or (PACKAGE.parent / Path(*submodule.split("."))).is_dir()
                yield (submodule, None, node.lineno) if is_module else (base, alias.name,
                                                                        node.lineno)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "tfpose":
                    yield alias.name, None, node.lineno


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def test_every_room_has_a_floor():
    rooms = {room(m) for m in MODULES} - {""}
    assert rooms <= set(FLOOR), f"rooms without a floor: {sorted(rooms - set(FLOOR))}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "tfpose"))
def test_imports_run_downhill(module):
    here = FLOOR[room(module)]
    uphill = [f"line {line}: {target}" for target, _, line in imports(MODULES[module])
              if target != "tfpose" and FLOOR[room(target)] > here]
    assert not uphill, f"{module} imports from higher floors: {uphill}"


def test_no_private_names_cross_modules():
    found = [f"{module} line {line}: {target}.{name}" for module, path in MODULES.items()
             for target, name, line in imports(path)
             if name and name.startswith("_") and not name.startswith("__") and target != module]
    assert not found, found


def test_no_import_circle():
    graph = {m: {t for t, _, _ in imports(p) if t in MODULES and t != "tfpose"}
             for m, p in MODULES.items()}
    done, on_path = set(), []

    def visit(module):
        if module in on_path:
            raise AssertionError(f"import circle: {' -> '.join(on_path[on_path.index(module):])}"
                                 f" -> {module}")
        if module in done:
            return
        on_path.append(module)
        for target in graph[module]:
            visit(target)
        on_path.pop()
        done.add(module)

    for module in graph:
        visit(module)
