"""What the bot loads at start-up: PyAV, NumPy and Pillow (about 60 MiB of the idle process)
only load when video or image work first runs, and matplotlib when a usage chart is drawn."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("av", "numpy", "PIL", "matplotlib")


def loaded_after(statement: str) -> set[str]:
    probe = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(  # noqa: S603 - our own interpreter and a fixed statement
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return {name.partition(".")[0] for name in json.loads(done.stdout)}


def test_starting_the_bot_loads_no_video_image_or_chart_library() -> None:
    loaded = loaded_after(
        "import bot.app, bot.cli, commands, pkgutil; "
        "[__import__(m.name) for m in pkgutil.walk_packages(commands.__path__, 'commands.')]"
    )
    assert loaded.isdisjoint(HEAVY), sorted(loaded.intersection(HEAVY))


def test_the_video_tools_load_pyav_when_they_run() -> None:
    """The guard above is not vacuous: the modules that do the work still import them."""
    damaged_png = "b'\\x89PNG\\r\\n\\x1a\\n' + bytes(64)"
    loaded = loaded_after(
        "import contextlib, bot.core.video.fit, bot.core.images as images\n"
        f"with contextlib.suppress(images.ImageRejected): images.inspect_image({damaged_png})"
    )
    assert {"av", "numpy", "PIL"} <= loaded
