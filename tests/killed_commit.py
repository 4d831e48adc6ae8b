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
    marker = tmp / f"paused-{step.replace(':', '-')}"
    env = {**os.environ, "FTIGATE_TEST_PAUSE_AT": step, "FTIGATE_TEST_PAUSE_MARKER": str(marker)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out), "force" if force else "no", json.dumps(files)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        waited = 0.0
        while not marker.exists():
            if child.poll() is not None:
                raise AssertionError(f"the run ended before {step}: {child.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            if waited > STARTUP_LIMIT_SECONDS:
                raise AssertionError(f"the run never reached {step}")
            time.sleep(0.05)
            waited += 0.05
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stderr is not None:
            child.stderr.close()
    assert child.returncode == -signal.SIGKILL
