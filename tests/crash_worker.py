"""A send worker that kills itself with SIGKILL at a chosen step (run by test_send_crash.py).

usage: crash_worker.py DATABASE_URL EMULATOR_URL STEP NTH
The worker dies the NTH time it reaches STEP: no cleanup, no rollback beyond what PostgreSQL
does for a dropped connection, exactly as a power cut or an OOM kill would leave things.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parent.parent)]

from sending import INSIDE_WINDOW, channels_for  # noqa: E402

from notifications.dispatcher import Dispatcher, DispatchSettings  # noqa: E402
from vnotify.config import load_config  # noqa: E402

CRASH_SETTINGS = DispatchSettings(
    batch_size=5,
    lease_seconds=3,
    provider_timeout_seconds=1,
    reconcile_delay_seconds=0.1,
    sendgrid_event_grace_seconds=6,
    backoff_base_seconds=0.05,
)


def main() -> None:
    url, emulator_url, step, nth = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    seen = 0

    def maybe_die(name: str, outbox_id: int) -> None:
        nonlocal seen
        if name == step:
            seen += 1
            if seen == nth:
                os.kill(os.getpid(), signal.SIGKILL)

    Dispatcher(
        url,
        load_config(),
        channels_for(emulator_url, timeout=1),
        CRASH_SETTINGS,
        clock=lambda: INSIDE_WINDOW,
        on_step=maybe_die,
    ).run(workers=1, drain=False)


if __name__ == "__main__":
    main()
