"""How commands report figures: a rich rendering for people, or one JSON object as the last line."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from rich.console import Console

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)


def emit(result: Mapping[str, Any], as_json: bool, render: Callable[[], None] | None = None) -> None:
    if as_json:
        print(json.dumps(result, default=str, sort_keys=True))
    elif render is not None:
        render()
    else:
        for key, value in result.items():
            console.print(f"[bold]{key}[/]: {value}")
