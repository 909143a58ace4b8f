"""`python -m simulate.emulators`: serve both emulators (what `run_in_process` starts).

Settings come from `--settings-json`, else from the `VNOTIFY_EMULATOR_*` environment variables.
With `--announce`, one line `VNOTIFY_EMULATOR_READY <base_url>` goes to stdout once the port is
bound (connections made after it are queued until the server loop runs).
"""

from __future__ import annotations

import argparse

from simulate.emulators.server import READY_PREFIX, serve
from simulate.emulators.settings import EmulatorSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulate.emulators", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--settings-json", help="EmulatorSettings as JSON (see EmulatorSettings.to_json)")
    parser.add_argument("--announce", action="store_true", help="print the ready line with the base URL")
    args = parser.parse_args(argv)
    settings = (
        EmulatorSettings.from_json(args.settings_json) if args.settings_json else EmulatorSettings.from_env()
    )

    def announce(base_url: str) -> None:
        if args.announce:
            print(READY_PREFIX + base_url, flush=True)

    serve(settings, args.host, args.port, on_ready=announce)


if __name__ == "__main__":
    main()
