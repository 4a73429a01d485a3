"""Tests for course_utils.redraw: pictures redrawn in place, only where a kernel can show them."""
from __future__ import annotations

import pytest

from course_utils import config, redraw


def test_live_output_is_available_in_a_kernel_only(kernel) -> None:
    assert redraw.live_output_available() is False, "pytest's own process is plain Python"
    result, _ = kernel.run("result = redraw.live_output_available()")
    assert result is True
    switched_off, _ = kernel.run("""
    import os
    os.environ["COURSE_LIVE_OUTPUT"] = "0"
    result = [redraw.live_output_available(), training_plots.LiveCurve().live]
    del os.environ["COURSE_LIVE_OUTPUT"]
    """)
    assert switched_off == [False, False]


@pytest.mark.parametrize("value, allowed", [("0", False), ("false", False), (" OFF ", False), ("no", False),
                                            ("1", True), ("", True), (None, True)])
def test_live_output_setting(monkeypatch: pytest.MonkeyPatch, value, allowed) -> None:
    if value is None:
        monkeypatch.delenv(config.LIVE_OUTPUT_ENV, raising=False)
    else:
        monkeypatch.setenv(config.LIVE_OUTPUT_ENV, value)
    assert config.live_output_allowed() is allowed
