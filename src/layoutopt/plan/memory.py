"""The largest resident memory of a run, of this process and of its workers, by phase."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import psutil


@dataclass
class PhasePeaks:
    """The largest resident memory of this process and of any child (worker) process, by
    the phase the run is in; a thread samples it while the run lasts."""

    every_s: float = 0.25
    phase: str = "run"  # the phase the run is in: the peaks are kept by it
    main_mb: dict[str, float] = field(default_factory=dict)
    worker_mb: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> PhasePeaks:
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            phase = self.phase
            main = me.memory_info().rss / 2**20
            self.main_mb[phase] = max(self.main_mb.get(phase, 0.0), main)
            for child in me.children(recursive=True):
                try:
                    rss = child.memory_info().rss / 2**20
                except psutil.Error:  # a worker that ended between listing and reading
                    continue
                self.worker_mb[phase] = max(self.worker_mb.get(phase, 0.0), rss)
            self._stop.wait(self.every_s)

    @property
    def worker_peak_mb(self) -> float:
        """The largest seen in any worker, whatever the phase."""
        return max(self.worker_mb.values(), default=0.0)

    @property
    def main_peak_mb(self) -> float:
        """The largest seen in this process, whatever the phase."""
        return max(self.main_mb.values(), default=0.0)
