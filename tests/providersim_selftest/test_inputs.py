"""The simulators fetch a submitted job's input image, as the real providers do, and fail the
job when it cannot be downloaded."""

from __future__ import annotations

import httpx
import pytest

from tests.providersim import (
    RUNCOMFY_IMAGE_MAX_BYTES,
    RUNCOMFY_IMAGE_TO_VIDEO,
    RUNCOMFY_IMAGE_TOO_LARGE,
    WAVESPEED_IMAGE_TO_VIDEO,
    JobScript,
    ProviderSim,
    tiny_mp4,
)

KEY = "test-key-not-a-secret"


@pytest.mark.parametrize("flavor", ["runcomfy", "wavespeed"])
async def test_an_unfetchable_image_fails_the_job(flavor: str) -> None:
    async with (
        ProviderSim(flavor, api_key=KEY, time_scale=1000.0) as sim,  # type: ignore[arg-type]
        ProviderSim("runcomfy", api_key=KEY) as host,
    ):
        host.put_file("cat.png", tiny_mp4())
        good, dead = host.file_url("cat.png"), host.file_url("gone.png")
        sim.script(JobScript(run_seconds=1), JobScript(run_seconds=1))
        async with httpx.AsyncClient(
            base_url=sim.base_url, headers={"Authorization": f"Bearer {KEY}"}
        ) as c:
            for url in (good, dead):
                if flavor == "runcomfy":
                    path = f"/v1/models/{RUNCOMFY_IMAGE_TO_VIDEO}"
                    body: dict[str, object] = {"image_urls": [url], "prompt": "x"}
                else:
                    path = f"/api/v3/{WAVESPEED_IMAGE_TO_VIDEO}"
                    body = {"image": url, "prompt": "x"}
                assert (await c.post(path, json=body)).status_code == 200
        fine, failed = sim.jobs.values()
        assert fine.input_fetches == [(good, 200)] and fine.script.outcome == "completed"
        assert failed.input_fetches == [(dead, 404)] and failed.script.outcome == "failed"


async def test_runcomfy_fails_an_image_of_4_7_mb_with_its_schema_error() -> None:
    async with (
        ProviderSim("runcomfy", api_key=KEY, time_scale=1000.0) as sim,
        ProviderSim("runcomfy", api_key=KEY) as host,
    ):
        host.put_file("under.png", b"\0" * (RUNCOMFY_IMAGE_MAX_BYTES - 1))
        host.put_file("at.png", b"\0" * RUNCOMFY_IMAGE_MAX_BYTES)
        urls = [host.file_url("under.png"), host.file_url("at.png")]
        sim.script(JobScript(run_seconds=1), JobScript(run_seconds=1))
        async with httpx.AsyncClient(
            base_url=sim.base_url, headers={"Authorization": f"Bearer {KEY}"}
        ) as c:
            for url in urls:
                body = {"image_urls": [url], "prompt": "x"}
                response = await c.post(f"/v1/models/{RUNCOMFY_IMAGE_TO_VIDEO}", json=body)
                assert response.status_code == 200
        under, at = sim.jobs.values()
        assert under.script.outcome == "completed"
        assert at.script.outcome == "failed"
        assert at.script.error == {"message": RUNCOMFY_IMAGE_TOO_LARGE}
