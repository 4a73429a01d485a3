"""The numbers quoted in the lectures' prose agree with their committed outputs (notebooks/claims.toml)."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from claims import Claim, _loose, _text_outputs, check_notebook, read_claims

REPO = Path(__file__).resolve().parents[1]
CLAIMS_FILE = REPO / "notebooks" / "claims.toml"
CLAIMS = read_claims(CLAIMS_FILE)
LECTURES = sorted(p for p in (REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def has_outputs(path: Path) -> bool:
    nb = nbformat.read(path, as_version=4)
    return any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")


def test_every_claim_names_an_existing_notebook_that_was_committed_with_outputs():
    names = {p.name for p in LECTURES}
    for claim in CLAIMS:
        assert claim.notebook in names, f"claim {claim.name!r} names {claim.notebook}, which does not exist"
        assert has_outputs(REPO / "notebooks" / claim.notebook), (
            f"claim {claim.name!r}: {claim.notebook} has no outputs, so nothing can be checked")


def test_every_executed_lecture_has_claims():
    """A lecture whose prose quotes its outputs must say which ones (07 is committed without outputs)."""
    claimed = {claim.notebook for claim in CLAIMS}
    missing = [p.name for p in LECTURES if has_outputs(p) and p.name not in claimed]
    assert missing == []


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_prose_agrees_with_outputs(path):
    problems = check_notebook(path, CLAIMS)
    assert problems == [], "\n".join(problems)


def _toy_notebook(tmp_path: Path, printed: str, prose: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("result = evaluate()", outputs=[
            nbformat.v4.new_output("stream", name="stdout", text=printed)]),
        nbformat.v4.new_markdown_cell(prose),
    ])
    path = tmp_path / "09-toy.ipynb"
    nbformat.write(nb, path)
    return path


def test_a_claim_holds_when_the_text_repeats_the_output(tmp_path):
    path = _toy_notebook(tmp_path, "validation accuracy 62.3%\n", "The model reaches\n62.3 % on validation.")
    claim = Claim("09-toy.ipynb", "accuracy", r"accuracy (?P<value>[\d.]+)%", "reaches {value} % on validation",
                  cell="result = evaluate")
    assert check_notebook(path, [claim]) == []


def test_a_claim_can_rescale_and_round(tmp_path):
    path = _toy_notebook(tmp_path, "training took 93 s\n", "It took about 1.6 minutes.")
    claim = Claim("09-toy.ipynb", "minutes", r"took (?P<value>\d+) s", "about {value} minutes", scale=1 / 60, digits=1)
    assert check_notebook(path, [claim]) == []


def test_an_edited_number_fails_naming_the_notebook_and_the_claim(tmp_path):
    """The issue's check: change one number in a copy of a lecture, and the claims test says where."""
    plain = [claim for claim in CLAIMS if claim.scale is None and claim.digits is None]
    assert plain, "no claims to test with"
    claim = plain[0]
    copy = tmp_path / claim.notebook
    shutil.copy(REPO / "notebooks" / claim.notebook, copy)
    assert check_notebook(copy, [claim]) == []
    nb = nbformat.read(copy, as_version=4)
    # Edit the number in the PROSE (as an author who forgot to update it would have left it).
    cells = [c for c in nb.cells if c.cell_type == "code" and (claim.cell is None or claim.cell in c.source)]
    value = re.search(claim.output, "\n".join(_text_outputs(c) for c in cells)).group("value")
    for cell in nb.cells:
        if cell.cell_type == "markdown" and value in cell.source:
            cell.source = cell.source.replace(value, value + "9")
    nbformat.write(nb, copy)
    problems = check_notebook(copy, [claim])
    assert len(problems) == 1
    assert claim.notebook in problems[0] and repr(claim.name) in problems[0]
    assert _loose(claim.prose.format(value=value)) in problems[0]   # it says what the text should say


def test_a_changed_output_fails_too(tmp_path):
    path = _toy_notebook(tmp_path, "validation accuracy 61.0%\n", "The model reaches 62.3 % on validation.")
    claim = Claim("09-toy.ipynb", "accuracy", r"accuracy (?P<value>[\d.]+)%", "reaches {value} % on validation")
    [problem] = check_notebook(path, [claim])
    assert "09-toy.ipynb: claim 'accuracy'" in problem and "reaches 61.0 % on validation" in problem
