"""The layout's rules, read from the source: no import circle among our modules (imports
under TYPE_CHECKING and inside functions count too), and the Discord-free core and the
providers import nothing from the Discord layer or the commands."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "commands", "providers")
DISCORD_FREE = ("bot.core", "providers")
DISCORD_SIDE = ("bot.discord_layer", "commands")


def modules(root: Path) -> dict[str, tuple[Path, bool]]:
    """Every module of our packages: dotted name -> (file, is it a package's __init__)."""
    found: dict[str, tuple[Path, bool]] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            found[".".join(parts)] = (path, is_package)
    return found


def _imported(node: ast.AST, package: str) -> Iterable[str]:
    """The dotted names an import statement may load (for `from a import b`, `a` and `a.b`)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            module = ".".join([*base, *([node.module] if node.module else [])])
        else:
            module = node.module or ""
        yield module
        yield from (f"{module}.{alias.name}" for alias in node.names)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Which of our modules each module imports, anywhere in its source."""
    known = modules(root)
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in known.items():
        package = name if is_package else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for dotted in _imported(node, package):
                while dotted and dotted not in known:  # `a.b.func` -> module `a.b`
                    dotted = dotted.rpartition(".")[0]
                if dotted and dotted != name:
                    targets.add(dotted)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def boundary_breaches(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted(
        (source, target)
        for source, targets in graph.items()
        if _within(source, DISCORD_FREE)
        for target in targets
        if _within(target, DISCORD_SIDE)
    )


def test_no_import_cycle_among_our_modules() -> None:
    assert cycles(import_graph(ROOT)) == []


def test_the_core_and_the_providers_import_nothing_from_the_discord_side() -> None:
    assert boundary_breaches(import_graph(ROOT)) == []


def test_the_graph_sees_our_modules_and_their_imports() -> None:
    graph = import_graph(ROOT)
    assert "bot.discord_layer.client" in graph["bot.app"]
    assert "bot.core.jobs.runner" in graph["bot.discord_layer.client"]
    assert {"bot", "commands", "providers"} <= {name.split(".")[0] for name in graph}


def _tree(root: Path, files: dict[str, str]) -> Path:
    for package in PACKAGES:
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").touch()
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_circle_through_a_type_checking_import_is_found(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "bot/client.py": "from bot.actions import Actions\n",
            "bot/actions.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from bot.client import VideoBot\n"
            ),
            "bot/alone.py": "import bot.client\n",
        },
    )
    assert cycles(import_graph(root)) == [["bot.actions", "bot.client"]]


def test_a_circle_through_a_lazy_relative_import_is_found(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "bot/core/__init__.py": "",
            "bot/core/jobs.py": "from bot.core.guild import rules\n",
            "bot/core/guild.py": "def rules():\n    from . import jobs\n",
        },
    )
    assert cycles(import_graph(root)) == [["bot.core.guild", "bot.core.jobs"]]


def test_the_core_importing_the_discord_layer_is_a_breach(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "bot/core/__init__.py": "",
            "bot/core/policy.py": "from bot.discord_layer.bounded import join\n",
            "bot/discord_layer/__init__.py": "",
            "bot/discord_layer/bounded.py": "def join(): ...\n",
            "providers/wavespeed.py": "import commands\n",
        },
    )
    assert boundary_breaches(import_graph(root)) == [
        ("bot.core.policy", "bot.discord_layer.bounded"),
        ("providers.wavespeed", "commands"),
    ]
