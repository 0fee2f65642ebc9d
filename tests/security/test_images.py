"""Images for /animate are judged by their bytes, never by their name or declared type:
bombs, lies and damaged files are refused with a specific message before anything is charged."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.harness import jpeg, png
from tests.security._world import GENERIC_APOLOGY, secure_world

NOT_AN_IMAGE = "not a JPEG or PNG"
TOO_BIG = "at most 4096"
DAMAGED = "damaged or incomplete"


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def declared_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares `width`×`height`."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + _chunk(b"IEND", b"")
    )


def declared_jpeg(width: int, height: int) -> bytes:
    """A real JPEG whose frame header (SOF0) is rewritten to declare `width`×`height`."""
    data = bytearray(jpeg(640, 480))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def bad_checksum(data: bytes) -> bytes:
    """The IHDR chunk's CRC flipped."""
    broken = bytearray(data)
    broken[8 + 8 + 13] ^= 0xFF
    return bytes(broken)


def zip_file() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.png", png(640, 480))
    return buffer.getvalue()


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="640" height="480">'
    b'<script>alert(1)</script><rect width="640" height="480"/></svg>'
)
HTML = b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>"


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes
    says: str | None  # None: accepted
    filename: str = "photo.png"
    content_type: str | None = "image/png"


UPLOADS = [
    Upload("png declaring 100000x100000", declared_png(100_000, 100_000), TOO_BIG),
    Upload("png declaring 4097x1400", declared_png(4097, 1400), TOO_BIG),
    Upload("jpeg declaring 65000x65000", declared_jpeg(65_000, 65_000), TOO_BIG),
    Upload("html declared image/png", HTML, NOT_AN_IMAGE),
    Upload("svg declared image/png", SVG, NOT_AN_IMAGE),
    Upload("svg named .svg", SVG, NOT_AN_IMAGE, "photo.svg", "image/svg+xml"),
    Upload("zip declared image/png", zip_file(), NOT_AN_IMAGE),
    Upload("empty file", b"", NOT_AN_IMAGE),
    Upload("png signature then html", b"\x89PNG\r\n\x1a\n" + HTML, DAMAGED),
    Upload("truncated png", png(640, 480)[:300], DAMAGED),
    Upload("png with a bad checksum", bad_checksum(declared_png(640, 480)), DAMAGED),
    Upload("jpeg declared image/png", jpeg(640, 480), None),
    Upload("png named .jpg without a type", png(640, 480), None, "cat.jpg", None),
]


async def test_image_bombs_and_lying_types(tmp_path: Path) -> None:
    async with secure_world(tmp_path, quota_limit=50) as w:
        await w.start_bot()
        problems: list[str] = []
        for number, upload in enumerate(UPLOADS):
            user = 30_000 + number
            interaction = await w.animate(
                upload.data,
                filename=upload.filename,
                content_type=upload.content_type,
                user=user,
                provider="runcomfy",
            )
            reply = await w.answer(interaction)
            jobs = w.jobs_of(user)
            label = f"{upload.name}: {reply!r:.120}"
            if GENERIC_APOLOGY in reply:
                problems.append(f"generic apology for {label}")
            elif upload.says is None:
                if "on its way" not in reply or len(jobs) != 1 or w.charged(user) != 1:
                    problems.append(f"should be accepted and charged once: {label}")
            elif upload.says not in reply or jobs or w.charged(user) != 0:
                problems.append(f"should be refused ({upload.says!r}), free: {label}")
        assert problems == []
        # Accepted images are re-hosted under the type their bytes have, not the one declared.
        rehosted = [m.files[0] for m in w.statuses() if m.files]
        assert [(f.filename, f.data[:3]) for f in rehosted] == [
            ("input.jpg", b"\xff\xd8\xff"),
            ("input.png", b"\x89PN"),
        ]
        assert len(w.statuses()) == 2 and len(w.jobs()) == 2
