"""Signal augmentations that leave the global intervals unchanged.

Applied per training row in raw mV before scaling, each drawn from its own
``numpy.random.Generator`` seeded by ``(seed, epoch, row)``, so a run is the same
whatever the number of DataLoader workers or processes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Augment:
    """Strengths of the augmentations (0 disables one).

    Parameters
    ----------
    amplitude
        Global gain drawn log-uniformly in ``[1/(1+a), 1+a]``, times a per-lead
        gain in ``[1 - a/4, 1 + a/4]``.
    baseline_mv
        Largest amplitude of the baseline wander (two sinusoids, 0.05-0.5 Hz).
    noise_mv
        Largest SD of white noise.
    powerline_mv
        Largest amplitude of 50 or 60 Hz interference (on a third of the rows).
    shift_s
        Largest time shift (edge-padded), in seconds.
    """

    amplitude: float = 0.3
    baseline_mv: float = 0.3
    noise_mv: float = 0.03
    powerline_mv: float = 0.02
    shift_s: float = 0.5

    def __call__(self, x: np.ndarray, fs_hz: float, rng: np.random.Generator) -> np.ndarray:
        """Return an augmented copy of ``x`` (leads x samples, mV)."""
        x = np.array(x, dtype=np.float32, copy=True)
        n_leads, n = x.shape
        t = np.arange(n, dtype=np.float32) / np.float32(fs_hz)
        if self.shift_s > 0:
            k = int(rng.integers(-round(self.shift_s * fs_hz), round(self.shift_s * fs_hz) + 1))
            if k > 0:
                x = np.concatenate([np.repeat(x[:, :1], k, axis=1), x[:, :-k]], axis=1)
            elif k < 0:
                x = np.concatenate([x[:, -k:], np.repeat(x[:, -1:], -k, axis=1)], axis=1)
        if self.amplitude > 0:
            a = self.amplitude
            g = np.exp(rng.uniform(-np.log1p(a), np.log1p(a)))
            x *= (g * rng.uniform(1 - a / 4, 1 + a / 4, size=(n_leads, 1))).astype(np.float32)
        if self.baseline_mv > 0:
            for _ in range(2):
                f = rng.uniform(0.05, 0.5)
                amp = rng.uniform(0, self.baseline_mv / 2, size=(n_leads, 1))
                phase = rng.uniform(0, 2 * np.pi, size=(n_leads, 1))
                x += (amp * np.sin(2 * np.pi * f * t + phase)).astype(np.float32)
        if self.noise_mv > 0:
            x += rng.normal(0, rng.uniform(0, self.noise_mv), size=x.shape).astype(np.float32)
        if self.powerline_mv > 0 and rng.random() < 1 / 3:
            f = 50.0 if rng.random() < 0.5 else 60.0
            amp = rng.uniform(0, self.powerline_mv)
            x += (amp * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))).astype(np.float32)
        return x


NO_AUGMENT = Augment(0.0, 0.0, 0.0, 0.0, 0.0)
