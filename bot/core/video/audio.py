"""One clip's sound, made exactly as long as its picture: resampled to the output's format,
cut at the clip's sample count, padded with silence when the clip has less (or none)."""

from __future__ import annotations

import av
import numpy as np
import numpy.typing as npt

RATE = 48_000
LAYOUT = "stereo"
FORMAT = "fltp"
CHANNELS = 2

Samples = npt.NDArray[np.float32]


class ClipAudio:
    def __init__(self, *, samples: int) -> None:
        self._wanted = samples
        self._given = 0
        self._resampler = av.AudioResampler(format=FORMAT, layout=LAYOUT, rate=RATE)

    def push(self, frame: av.AudioFrame | None) -> list[Samples]:
        """Resample a decoded frame (None flushes); return the sample blocks that fit."""
        out: list[Samples] = []
        for converted in self._resampler.resample(frame):
            block = converted.to_ndarray().astype(np.float32, copy=False)
            room = self._wanted - self._given
            if room <= 0:
                break
            block = block[:, :room]
            self._given += block.shape[1]
            out.append(block)
        return out

    def finish(self) -> list[Samples]:
        """Flush the resampler and pad with silence to the clip's length."""
        out = self.push(None)
        missing = self._wanted - self._given
        if missing > 0:
            out.append(np.zeros((CHANNELS, missing), dtype=np.float32))
            self._given += missing
        return out
