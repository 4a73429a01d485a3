"""Check that the numbers a lecture's prose quotes agree with the outputs committed beside them.

A lecture's text often says what its outputs show ("the ConvNet reaches 62.3 % on the
validation set"). When the notebook is re-run, the output changes and the sentence can
silently become false. ``notebooks/claims.toml`` lists every such sentence as a *claim*:

    [[claim]]
    notebook = "05-convolution.ipynb"
    name = "ConvNet validation accuracy"
    cell = "result = cu.evaluate(model, val_loader)"      # optional: a code cell's source contains this
    output = 'accuracy=(?P<value>[\\d.]+)%'                 # a regular expression with a group "value"
    prose = "reaches {value} % on the validation set"      # text that must appear in a markdown cell

The check finds ``output`` in the committed text outputs (of that code cell, or of any
code cell), takes the group ``value``, optionally rescales and rounds it (``scale = 1/60``,
``digits = 1``), puts it into ``prose`` and looks for that text in the notebook's markdown
cells (spaces and line breaks are compared loosely). A claim can also say
``occurrence = "last"`` to use the last match instead of the first.

Example:
    >>> problems = check_notebook(Path("notebooks/05-convolution.ipynb"), claims)   # doctest: +SKIP
    >>> problems                                                                     # doctest: +SKIP
    []
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


@dataclass(frozen=True)
class Claim:
    """One sentence of prose whose number must come from an output."""

    notebook: str
    name: str
    output: str
    prose: str
    cell: str | None = None
    occurrence: str = "first"
    scale: float | None = None
    digits: int | None = None


def read_claims(path: Path) -> list[Claim]:
    """The claims listed in a TOML file (``[[claim]]`` tables)."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    return [Claim(**entry) for entry in data.get("claim", [])]


def _text_outputs(cell) -> str:
    """All text a code cell printed or returned (streams and text/plain), joined."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif output.get("output_type") in ("execute_result", "display_data"):
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def _loose(text: str) -> str:
    """Text with every run of white space made one space (markdown wraps lines anywhere)."""
    return re.sub(r"\s+", " ", text).strip()


def _value(claim: Claim, raw: str) -> str:
    """The matched value, rescaled and rounded as the claim asks."""
    if claim.scale is None and claim.digits is None:
        return raw
    number = float(raw.replace(",", "")) * (claim.scale if claim.scale is not None else 1.0)
    digits = claim.digits if claim.digits is not None else 1
    return f"{number:,.{digits}f}"


def check_claim(nb, claim: Claim) -> str | None:
    """None when the claim holds in the notebook ``nb``, else the reason it does not."""
    where = f"{claim.notebook}: claim {claim.name!r}"
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    if claim.cell is not None:
        code_cells = [cell for cell in code_cells if claim.cell in cell.source]
        if not code_cells:
            return f"{where}: no code cell contains {claim.cell!r}"
    text = "\n".join(_text_outputs(cell) for cell in code_cells)
    matches = list(re.finditer(claim.output, text))
    if not matches:
        return f"{where}: the outputs do not contain {claim.output!r} (was the notebook re-run? is it saved with outputs?)"
    match = matches[0] if claim.occurrence == "first" else matches[-1]
    value = _value(claim, match.group("value"))
    expected = _loose(claim.prose.format(value=value))
    markdown = _loose("\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown"))
    if expected not in markdown:
        return (f"{where}: the output says {match.group(0)!r}, so the text should say {expected!r}, "
                f"but no markdown cell does")
    return None


def check_notebook(path: Path, claims: list[Claim]) -> list[str]:
    """Every problem with the claims about the notebook at ``path``."""
    nb = nbformat.read(path, as_version=4)
    return [problem for claim in claims if claim.notebook == path.name
            for problem in [check_claim(nb, claim)] if problem is not None]
