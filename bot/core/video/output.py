"""An MP4 being written: H.264 video on a constant frame-rate grid, optional AAC sound, the index
at the front (faststart) so Discord's player can start before the whole file is loaded."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np

import bot.core.video.audio as audio
from bot.core.video.audio import Samples

PRESET = "veryfast"
"""x264's speed/size trade-off: 'veryfast' keeps a 10 s 1080P re-encode to seconds on 2 cores."""
QUALITY_CRF = "18"
"""Quality-based rate control when no bit rate is asked for (joins): visually lossless."""


class Output:
    def __init__(
        self,
        path: Path,
        *,
        width: int,
        height: int,
        fps: Fraction,
        video_bit_rate: int | None = None,
        audio_bit_rate: int | None = None,
    ) -> None:
        self._fps = fps
        self._container = av.open(
            str(path), mode="w", format="mp4", options={"movflags": "+faststart"}
        )
        video = self._container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        options: dict[str, object] = {"preset": PRESET}
        if video_bit_rate is None:
            options["crf"] = QUALITY_CRF
        else:
            # Average bit rate with a VBV cap at the same rate, so the size is predictable.
            video.bit_rate = video_bit_rate
            options["maxrate"] = str(video_bit_rate)
            options["bufsize"] = str(video_bit_rate * 2)
        video.options = options
        self._video = video
        self._audio: av.AudioStream | None = None
        if audio_bit_rate is not None:
            sound = self._container.add_stream("aac", rate=audio.RATE, layout=audio.LAYOUT)
            sound.bit_rate = audio_bit_rate
            self._audio = sound
        self._slot = 0
        self._samples = 0

    @property
    def frames_written(self) -> int:
        return self._slot

    def write_frame(self, frame: av.VideoFrame) -> None:
        """Encode `frame` in the next grid slot (its own timestamp is replaced)."""
        if frame.width != self._video.width or frame.height != self._video.height:
            frame = frame.reformat(
                width=self._video.width,
                height=self._video.height,
                format="yuv420p",
                interpolation="AREA",
            )
        frame.pts = self._slot
        frame.time_base = Fraction(1) / self._fps
        self._slot += 1
        self._container.mux(self._video.encode(frame))

    def write_samples(self, block: Samples) -> None:
        if self._audio is None or block.shape[1] == 0:
            return
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(block), format=audio.FORMAT, layout=audio.LAYOUT
        )
        frame.sample_rate = audio.RATE
        frame.pts = self._samples
        frame.time_base = Fraction(1, audio.RATE)
        self._samples += block.shape[1]
        self._container.mux(self._audio.encode(frame))

    def close(self) -> None:
        """Flush the encoders and finish the file."""
        try:
            self._container.mux(self._video.encode(None))
            if self._audio is not None:
                self._container.mux(self._audio.encode(None))
        finally:
            self._container.close()

    def __enter__(self) -> Output:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self._container.close()
