"""Stopping a run from another thread the way Ctrl-C stops it at a terminal.

The loop, the tools and the backends already know what to do with a
``KeyboardInterrupt``: keep the partial answer, stop the running command's
whole process tree, close the model's stream (docs/embedding.md#cancelling).
So a cancel raises exactly that, in the thread that runs the loop:

- in the main thread, a real SIGINT (``pthread_kill``): it wakes a blocked
  socket read or ``sleep`` and respects the places where the tools hold
  Ctrl-C back (``tools/processes.py``, ``sigint_deferred``);
- in any other thread, an asynchronous exception: it lands at the next
  bytecode, which is within 0.1 s while a command runs (the bash tool polls)
  and at the backend's next event while the model streams.

At most one interrupt is sent per run, and none after the run has ended, so
one can never escape into the code that called ``run()``.
"""

from __future__ import annotations

import ctypes
import signal
import threading
import time

ABSORB_SECONDS = 1.0  # how long a late SIGINT is waited for before the run returns


def _raise_in(thread_id: int, exc: type[BaseException] | None) -> None:
    """Schedule ``exc`` in another thread (None clears a scheduled one that has not landed yet)."""
    target = ctypes.py_object(exc) if exc is not None else ctypes.py_object()
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), target)


def _by_signal(thread: threading.Thread) -> bool:
    """Whether Ctrl-C itself can be sent: the loop runs in the main thread under Python's own SIGINT handler."""
    return thread is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.default_int_handler


class RunInterrupter:
    """Interrupts the thread running the loop, at most once per run (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._sent = False

    def begin(self) -> None:
        with self._lock:
            self._thread, self._sent = threading.current_thread(), False

    def interrupt(self) -> bool:
        """Interrupt the run in progress; False when there is none or it was already interrupted."""
        with self._lock:
            thread = self._thread
            if thread is None or thread.ident is None or self._sent:
                return False
            self._sent = True
            if _by_signal(thread):
                signal.pthread_kill(thread.ident, signal.SIGINT)
            else:
                _raise_in(thread.ident, KeyboardInterrupt)
            return True

    def end(self) -> bool:
        """Accept no more interrupts. True when a SIGINT was sent during this run: if it has not landed
        yet, :func:`absorb_late_interrupt` waits for it. An asynchronous exception that has not landed
        is dropped here instead.

        Idempotent: a KeyboardInterrupt landing inside it leaves the caller free to call it again.
        """
        with self._lock:
            thread, sent = self._thread, self._sent
            if thread is None or thread.ident is None:
                self._thread = None
                return False
            by_signal = _by_signal(thread)
            if sent and not by_signal:
                _raise_in(thread.ident, None)  # scheduled but not landed: dropped, it can no longer surprise anyone
            self._thread = None
            return sent and by_signal


def absorb_late_interrupt() -> None:
    """Wait for a SIGINT that was sent but has not landed yet, so that it lands here and not in the caller."""
    deadline = time.monotonic() + ABSORB_SECONDS
    try:
        while time.monotonic() < deadline:
            time.sleep(0.01)
    except KeyboardInterrupt:
        pass
