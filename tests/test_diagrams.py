"""The building-block diagrams."""
import matplotlib.pyplot as plt
import pytest

from course_utils.diagrams import draw_residual_block


def test_residual_block_names_its_layers_and_the_skip_connection():
    fig = draw_residual_block(channels=32)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert sum("conv 3×3, 32 → 32" in t for t in texts) == 2
    assert sum(t == "batch norm" for t in texts) == 2 and "+" in texts
    assert any("skip connection" in t for t in texts)
    assert fig.axes[0].get_title() == "A residual block: output = x + F(x)"
    plt.close(fig)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "64"])
def test_residual_block_checks_channels(bad):
    with pytest.raises(ValueError, match="channels"):
        draw_residual_block(channels=bad)
