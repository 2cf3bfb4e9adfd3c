"""Progress of long work, reported the same way by commands, Celery tasks and pages.

A long operation takes a ``progress(phase, done, total)`` callable. Commands pass a
``ProgressBar`` that draws on the terminal; tasks pass a ``CachedProgress`` that the
page polls (the cache is shared between web and worker processes, see settings).
"""

import sys

from django.core.cache import cache


def no_progress(phase: str, done: int, total: int) -> None:
    return None


class ProgressBar:
    """``phase [##########..........]  50%  8,894/17,788`` on one terminal line per phase."""

    def __init__(self, stream=None, width: int = 30):
        # A management command's OutputWrapper ends every write with a newline; draw on what it wraps.
        self.stream = getattr(stream, "_out", stream) or sys.stdout
        self.width = width
        self._phase = None
        self._shown = -1

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self._phase:
            if self._phase is not None and self._shown < 100:
                self.stream.write("\n")
            self._phase, self._shown = phase, -1
        percent = 100 if total <= 0 else min(100, done * 100 // total)
        if percent == self._shown:
            return
        self._shown = percent
        filled = self.width * percent // 100
        self.stream.write(f"\r{phase} [{'#' * filled}{'.' * (self.width - filled)}] {percent:3d}%  {done:,}/{total:,}")
        if percent == 100:
            self.stream.write("\n")
        self.stream.flush()


class CachedProgress:
    """Progress kept under a cache key for a page to poll."""

    timeout = 24 * 3600

    def __init__(self, key: str):
        self.key = key
        self._last = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        percent = 100 if total <= 0 else min(100, done * 100 // total)
        if (phase, percent) == self._last:
            return
        self._last = (phase, percent)
        cache.set(self.key, {"phase": str(phase), "done": done, "total": total, "percent": percent}, self.timeout)

    @staticmethod
    def read(key: str) -> dict | None:
        return cache.get(key)
