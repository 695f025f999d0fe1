"""The kiosk's decode pipeline on real photos nobody on this project made, and on badge frames."""

from __future__ import annotations

import os

import numpy as np
import pytest

from benchmarks.corpus import DEFAULT_ROOT, load_gray, read_corpus
from kiosk_client.decoder import BadgeScanner, PyzbarDecoder, default_scanner
from kiosk_client.frames import classroom_frame

CORPUS = DEFAULT_ROOT


def load(path: str) -> np.ndarray:
    return load_gray(CORPUS, path)


@pytest.fixture(scope="module")
def corpus() -> tuple[dict[str, set[str]], list[str]]:
    if not (CORPUS / "index.csv").exists():
        message = f"the shared QR corpus is not at {CORPUS}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(f"!!! SKIPPING CORPUS TESTS: {message}")
    return read_corpus(CORPUS)


# The pipeline read 130 of the 137 photos when measured (benchmarks/README.md, Decoding); one
# photo of slack absorbs a different zxing-cpp or ZBar build reading one borderline photo
# differently. Two or more fewer is a real loss, which this test is here to catch.
MEASURED_READ = 130
SLACK = 1


def test_pipeline_reads_what_was_measured_of_the_137_real_photos_and_more_than_its_every_frame_look(
    corpus: tuple[dict[str, set[str]], list[str]],
) -> None:
    expected, _ = corpus
    pipeline = BadgeScanner(PyzbarDecoder())
    alone = pipeline.primary  # the every-frame look
    read = [p for p, texts in expected.items() if texts & {d.text for d in pipeline.scan(load(p), thorough=True)}]
    read_alone = [p for p, texts in expected.items() if texts & {d.text for d in alone.decode(load(p))}]
    assert len(expected) == 137
    assert len(read) >= MEASURED_READ - SLACK, f"read {len(read)}/137"
    assert set(read_alone) <= set(read), "the second looks must not lose what the every-frame look reads"
    assert len(read) > len(read_alone), "and they must earn their cost"


def test_pipeline_reports_nothing_on_images_without_a_code(corpus: tuple[dict[str, set[str]], list[str]]) -> None:
    _, negatives = corpus
    scanner = BadgeScanner(PyzbarDecoder())
    assert [p for p in negatives if scanner.scan(load(p), thorough=True)] == []


def test_a_badge_held_small_and_blurred_is_read_within_a_few_frames() -> None:
    # A fixed payload: whether one look misses depends on the code's pattern, and this test must
    # show a badge the every-frame look misses and the second looks read.
    payload = "BL1:B001AAAAAAAAAAAAAMZMZMZMZMZMZQ"
    frame = classroom_frame(1280, 720, payload, code_fraction=0.13, blur=1.2, noise=4)
    scanner = default_scanner()
    assert scanner.primary.decode(frame) == []  # the every-frame look alone misses this badge
    found = [d.text for _ in range(16) for d in scanner.scan(frame)]
    assert payload in found


def test_empty_frames_stay_empty_through_every_second_look() -> None:
    scanner = default_scanner()
    frame = classroom_frame(1280, 720, noise=5)
    assert all(scanner.scan(frame) == [] for _ in range(30))


def test_a_far_badge_in_the_framing_guide_is_read_by_the_centre_third_look() -> None:
    """A badge about 50 px wide (arm's length and beyond on a 720p camera): every other look
    misses it; the middle third of the frame upscaled three times reads it (issue 14, goal 4)."""
    payload = "BL1:B001AAAAAAAAAAAAAMZMZMZMZMZMZQ"
    frame = classroom_frame(1280, 720, payload, code_fraction=0.07, blur=0.6, noise=4, seed=8)
    scanner = default_scanner()
    assert scanner.primary.decode(frame) == []
    assert scanner._blurred_global(frame) == [] and scanner._centre_upscaled(frame) == []
    assert scanner._fallback_look(frame) == []
    found = scanner._centre_third_upscaled(frame)
    assert [d.text for d in found] == [payload]
    xs = [x for x, _ in found[0].corners]  # corners are in the frame's coordinates, not the crop's
    assert 1280 / 3 < min(xs) < max(xs) < 2 * 1280 / 3
    assert payload in [d.text for _ in range(25) for d in scanner.scan(frame)], "it takes its turn"
