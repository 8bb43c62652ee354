"""Run ``symbackprop ARGS`` in a forked copy of the test process: a process of its own, as
``python -m symbackprop ARGS`` is (its own exit code, standard streams, memory limit and time out),
without a second's start (a fresh interpreter imports SymPy and the engine again).

``python -m symbackprop`` itself is tested in a fresh interpreter (test_cli, test_verify); the tests
that need a process only to bound a command's time or memory, or to give it a pipe, fork.
"""

from __future__ import annotations

import gc
import io
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

__all__ = ["symbackprop_in_a_fork"]


def symbackprop_in_a_fork(*args: str, timeout: float = 60, memory: int | None = None,
                          cwd: Path | None = None, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """What ``subprocess.run([python, "-m", "symbackprop", *args], capture_output=True, text=True,
    timeout=timeout)`` gives, run by a fork of this process; ``memory`` bytes of address space beyond
    what the fork starts with (the limit a fresh process would get, on top of this process's heap);
    ``input`` on its standard input (else it reads an empty one)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        stdin, feed = os.pipe()  # a pipe, as subprocess gives: read once, not seekable
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 1
            try:
                os.close(feed)
                code = _child(args, out.fileno(), err.fileno(), stdin, memory, cwd)
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else 1
            except BaseException:  # noqa: BLE001 - printed as python would print it
                traceback.print_exc()
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code)
        os.close(stdin)
        # fed from a thread: a command that reads less than a pipe holds still ends, or times out
        feeder = threading.Thread(target=_feed, args=(feed, (input or "").encode()), daemon=True)
        feeder.start()
        code = _wait(pid, timeout, args)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(["symbackprop", *args], code, out.read().decode(),
                                           err.read().decode())


def _feed(fd: int, data: bytes) -> None:
    try:
        with open(fd, "wb") as pipe:
            pipe.write(data)
    except BrokenPipeError:  # the command ended without reading it all
        pass


def _child(args: tuple[str, ...], out: int, err: int, stdin: int, memory: int | None, cwd: Path | None) -> int:
    gc.freeze()  # what it inherited is not its garbage: a collection would only touch its pages
    for fd, to in ((stdin, 0), (out, 1), (err, 2)):
        os.dup2(fd, to)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=False)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if cwd is not None:
        os.chdir(cwd)
    if memory is not None:
        resource.setrlimit(resource.RLIMIT_AS, (_address_space() + memory,) * 2)
    from symbackprop.cli import main

    return main(list(args))


def _address_space() -> int:
    """Bytes of address space this process has mapped (VmSize)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def _wait(pid: int, timeout: float, args: tuple[str, ...]) -> int:
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise subprocess.TimeoutExpired(["symbackprop", *args], timeout)
        time.sleep(pause)
        pause = min(pause * 2, 0.02)
