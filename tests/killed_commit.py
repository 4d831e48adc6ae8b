"""A real process writing an output folder, SIGKILLed at one step of its commit: the states
a kill can leave, for the tests of everything that reads or writes an output folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

STARTUP_LIMIT_SECONDS = 120.0

CHILD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from ftigate.outputs import OutputFolder

    out, force, files = Path(sys.argv[1]), sys.argv[2] == "force", json.loads(sys.argv[3])
    with OutputFolder(out, force=force, command="child") as folder:
        for name, text in files.items():
            folder.write_text(name, text)
        folder.prepare()
        folder.commit()
    """
)


def killed_at(step: str, out: Path, files: dict[str, str], tmp: Path, *, force: bool) -> None:
    """Run a real process writing `files` into `out`; SIGKILL it once it reaches `step`."""
    command = [sys.executable, "-c", CHILD, str(out), "force" if force else "no", json.dumps(files)]
    kill_when_paused(command, {}, step, tmp / f"paused-{step.replace(':', '-')}")


def kill_when_paused(
    command: list[str],
    env: dict[str, str],
    step: str,
    marker: Path,
    *,
    limit: float = STARTUP_LIMIT_SECONDS,
    poll: float = 0.05,
) -> None:
    """Run `command` in a real process told to pause at `step` (`outputs.durable.pause_point`
    writes `marker` there), wait until it does and SIGKILL it. `limit`: how long it may
    take to get there (not an assertion about speed)."""
    child_env = {**os.environ, **env, "FTIGATE_TEST_PAUSE_AT": step, "FTIGATE_TEST_PAUSE_MARKER": str(marker)}
    child = subprocess.Popen(command, env=child_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        waited = 0.0
        while not marker.exists():
            if child.poll() is not None:
                raise AssertionError(f"the run ended before {step}: {child.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            if waited > limit:
                raise AssertionError(f"the run never reached {step}")
            time.sleep(poll)
            waited += poll
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stderr is not None:
            child.stderr.close()
    assert child.returncode == -signal.SIGKILL
