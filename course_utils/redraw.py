"""A picture in a notebook's output that is redrawn in place: what the widgets and the live curve show.

How it works. The first ``draw`` shows the figure as a PNG in an ordinary notebook
output, through an IPython *display handle* (``display(picture, display_id=True)``);
every later ``draw`` replaces that picture in place (``handle.update(picture)``).
Because it is an ordinary output, a saved notebook keeps the last picture drawn: on
GitHub, in nbviewer, or in a notebook opened without a running kernel you see that
picture (and, for a widget, a line of text where its controls were).

Outside a Jupyter kernel -- plain Python, a terminal, a test -- nothing is displayed,
but figures are still drawn, so mistakes in a figure show up everywhere.

Example:
    >>> live_output_available()     # in plain Python
    False
"""
from __future__ import annotations

import base64
import io

import ipywidgets as widgets
from matplotlib.figure import Figure

from course_utils.progress import in_notebook

__all__ = ["Picture", "figure_png", "live_output_available", "show_controls"]


def _ipython():
    """The running IPython shell, or None in plain Python."""
    from IPython import get_ipython

    return get_ipython()


def live_output_available() -> bool:
    """True when outputs that redraw in place make sense here: in a Jupyter kernel.

    That is JupyterLab, Jupyter Notebook, Colab or VS Code. False in a terminal, in
    plain Python or terminal IPython, and when the environment variable
    ``COURSE_LIVE_OUTPUT`` is 0 (``make test`` sets it, so that test runs print text only).
    (The same test that ``cu.train`` uses for its progress line: ``progress.in_notebook``.)
    """
    return in_notebook()


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes, cropped to what is drawn (like the notebook's inline backend)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


class Picture:
    """One picture in the notebook output, replaced in place at every ``draw``.

    Outside IPython (plain Python, a test) nothing is displayed; ``draw`` still
    renders, so mistakes in a figure show up everywhere.
    """

    def __init__(self, visible: bool = True) -> None:
        self.visible = visible
        self.handle = None    # the IPython DisplayHandle, after the first draw
        self.draws = 0        # how many pictures were sent to the notebook

    def draw(self, fig: Figure, text: str) -> None:
        """Show ``fig`` as a PNG (``text`` stands in for it where pictures are not shown)."""
        from IPython.display import display

        bundle = {"image/png": base64.b64encode(figure_png(fig)).decode("ascii"), "text/plain": f"[picture: {text}]"}
        if not self.visible or _ipython() is None:
            return
        if self.handle is None:
            self.handle = display(bundle, raw=True, display_id=True)
        else:
            self.handle.update(bundle, raw=True)
        self.draws += 1


def show_controls(box: widgets.Widget, text: str) -> None:
    """Display a widget; where widgets cannot be shown (a saved notebook on GitHub), ``text`` stands in.

    (The default stand-in is the widget's long repr; the view data is the same in ipywidgets 7 and 8.)
    """
    from IPython.display import display

    if _ipython() is None:
        return
    view = {"version_major": 2, "version_minor": 0, "model_id": box.model_id}
    display({"text/plain": text, "application/vnd.jupyter.widget-view+json": view}, raw=True)
