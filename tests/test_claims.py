"""What the lectures' prose says agrees with their outputs, their models and their headings (notebooks/claims.toml).

The first tests check the committed lectures. The tests of the checker itself (below the line) use
notebooks they make in ``tmp_path``, never the working tree's lectures — re-running a lecture in a
clone must not break them — except one, which edits a copy of lecture 05's *code and prose* (not its
outputs) to show what an author who changes one width sees.
"""
from __future__ import annotations

import shutil
import textwrap
import warnings
from pathlib import Path

import nbformat
import pytest

from claims import (Claim, Config, ConfigError, Marking, ModelClaim, check_notebook, pending_claims,
                    read_config)

REPO = Path(__file__).resolve().parents[1]
CLAIMS_FILE = REPO / "notebooks" / "claims.toml"
CONFIG = read_config(CLAIMS_FILE)
LECTURES = sorted(p for p in (REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def has_outputs(path: Path) -> bool:
    nb = nbformat.read(path, as_version=4)
    return any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")


def test_every_claim_names_an_existing_notebook_that_was_committed_with_outputs():
    names = {p.name for p in LECTURES}
    for claim in CONFIG.claims:
        assert claim.notebook in names, f"claim {claim.name!r} names {claim.notebook}, which does not exist"
        assert has_outputs(REPO / "notebooks" / claim.notebook), (
            f"claim {claim.name!r}: {claim.notebook} has no outputs, so nothing can be checked")
    for model in CONFIG.models:
        assert model.notebook in names, f"model {model.name!r} names {model.notebook}, which does not exist"
    assert set(CONFIG.sections) <= names


def test_every_executed_lecture_has_claims():
    """A lecture whose prose quotes its outputs must say which ones (07 is committed without outputs)."""
    claimed = {claim.notebook for claim in CONFIG.claims}
    missing = [p.name for p in LECTURES if has_outputs(p) and p.name not in claimed]
    assert missing == []


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_prose_agrees_with_outputs_models_and_headings(path):
    problems = check_notebook(path, CONFIG)
    assert problems == [], "\n".join(problems)


def test_claims_waiting_for_the_final_run_are_listed():
    """Not a check of the lectures: it names, in pytest's summary, the claims the next full run will decide."""
    waiting = pending_claims(CONFIG)
    for claim in waiting:
        warnings.warn(f"{claim.notebook}: claim {claim.name!r} waits for a full run ({claim.pending})", stacklevel=1)
    assert all(claim.pending.strip() for claim in waiting), "a pending claim must say why it waits"


# ---------------------------------------------------------------------------
# The checker itself, on notebooks made here
# ---------------------------------------------------------------------------

MACHINE = "a 2-core test machine"
MARKING = Marking(build_machine=MACHINE)


def code(source: str, printed: str | None = None):
    outputs = [] if printed is None else [nbformat.v4.new_output("stream", name="stdout", text=printed)]
    return nbformat.v4.new_code_cell(textwrap.dedent(source).strip(), outputs=outputs)


def markdown(source: str):
    return nbformat.v4.new_markdown_cell(textwrap.dedent(source).strip())


def notebook(tmp_path: Path, *cells, name: str = "09-toy.ipynb") -> Path:
    path = tmp_path / name
    nbformat.write(nbformat.v4.new_notebook(cells=list(cells)), path)
    return path


def claim(**fields) -> Claim:
    return Claim(**{"notebook": "09-toy.ipynb", "name": "accuracy", "output": r"accuracy (?P<value>[\d.]+)%",
                    "prose": "reaches {value} % on validation", "kind": "exact", **fields})


def test_a_claim_holds_when_the_text_repeats_the_output(tmp_path):
    path = notebook(tmp_path, code("result = evaluate()", "validation accuracy 62.3%\n"),
                    markdown("The model reaches\n62.3 % on validation."))
    assert check_notebook(path, Config(claims=[claim(cell="result = evaluate")])) == []


def test_a_claim_can_rescale_and_round(tmp_path):
    path = notebook(tmp_path, code("train()", "training took 93 s\n"), markdown("It took about 1.6 minutes."))
    minutes = claim(output=r"took (?P<value>\d+) s", prose="about {value} minutes", scale=1 / 60, digits=1)
    assert check_notebook(path, Config(claims=[minutes])) == []


def test_an_edited_number_fails_naming_the_notebook_the_claim_and_the_right_text(tmp_path):
    path = notebook(tmp_path, code("result = evaluate()", "validation accuracy 62.3%\n"),
                    markdown("The model reaches 62.39 % on validation."))
    [problem] = check_notebook(path, Config(claims=[claim()]))
    assert problem == ("09-toy.ipynb: claim 'accuracy': the output says 'accuracy 62.3%', so the text should say "
                       "'reaches 62.3 % on validation', but no markdown cell does")


def test_a_changed_output_fails_too(tmp_path):
    path = notebook(tmp_path, code("evaluate()", "validation accuracy 61.0%\n"),
                    markdown("The model reaches 62.3 % on validation."))
    [problem] = check_notebook(path, Config(claims=[claim()]))
    assert "09-toy.ipynb: claim 'accuracy'" in problem and "reaches 61.0 % on validation" in problem


def test_every_claim_must_say_its_kind(tmp_path):
    toml = tmp_path / "claims.toml"
    toml.write_text('[[claim]]\nnotebook = "09-toy.ipynb"\nname = "accuracy"\noutput = "x"\nprose = "y"\n')
    with pytest.raises(ConfigError, match=r"claim 'accuracy' \(09-toy.ipynb\) has no kind: add kind = \"exact\""):
        read_config(toml)
    toml.write_text(toml.read_text() + 'kind = "roughly"\n')
    with pytest.raises(ConfigError, match="has kind 'roughly'; expected one of"):
        read_config(toml)


# ---- seed and machine values say whose they are ------------------------------

def timing_notebook(tmp_path, paragraph: str, names_machine: bool = True) -> Path:
    cells = [code("train()", "training took 128 s\nvalidation accuracy 62.7%\n"), markdown(paragraph)]
    if names_machine:
        cells.insert(0, markdown(f"The outputs come from the build machine, {MACHINE}."))
    return notebook(tmp_path, *cells)


TIME = claim(name="time", output=r"took (?P<value>\d+) s", prose="took {value} s", kind="machine")
ACCURACY = claim(kind="seed", prose="reaches {value} %")


def test_a_timing_must_be_quoted_as_the_build_machines(tmp_path):
    path = timing_notebook(tmp_path, "The five epochs took 128 s.")
    [problem] = check_notebook(path, Config(claims=[TIME], marking=MARKING))
    assert problem == ("09-toy.ipynb: claim 'time' (machine: a timing or speed-up) is quoted without saying whose "
                       "number it is: the paragraph with 'took 128 s' should say 'build machine' (a student's run "
                       "prints another value)")
    path = timing_notebook(tmp_path, "In this run the five epochs took 128 s.")   # "this run" is not enough
    assert len(check_notebook(path, Config(claims=[TIME], marking=MARKING))) == 1
    path = timing_notebook(tmp_path, "On the build machine the five epochs took 128 s.")
    assert check_notebook(path, Config(claims=[TIME], marking=MARKING)) == []


def test_a_trained_models_accuracy_must_be_quoted_as_this_runs(tmp_path):
    path = timing_notebook(tmp_path, "The model reaches 62.7 % on validation.")
    [problem] = check_notebook(path, Config(claims=[ACCURACY], marking=MARKING))
    assert "claim 'accuracy' (seed: a value that depends on training and the machine)" in problem
    assert "should say 'build machine' or 'this run' or 'the run shown'" in problem
    path = timing_notebook(tmp_path, "In this run the model reaches 62.7 % on validation.")
    assert check_notebook(path, Config(claims=[ACCURACY], marking=MARKING)) == []
    path = timing_notebook(tmp_path, "The model reaches 62.7 %.\n\nIn this run, other things.")   # another paragraph
    assert len(check_notebook(path, Config(claims=[ACCURACY], marking=MARKING))) == 1


def test_a_notebook_with_machine_values_names_the_machine(tmp_path):
    path = timing_notebook(tmp_path, "On the build machine the five epochs took 128 s.", names_machine=False)
    [problem] = check_notebook(path, Config(claims=[TIME], marking=MARKING))
    assert problem == ("09-toy.ipynb: it quotes numbers of the build machine's run ('time', ...) but never names the "
                       "machine: say somewhere that the outputs come from the build machine, 'a 2-core test machine'")


def test_an_exemption_for_a_notebook_rewritten_elsewhere_must_be_removed_once_it_is_not_needed(tmp_path):
    exempt = Marking(build_machine=MACHINE, pending_notebooks=("09-toy.ipynb",))
    path = timing_notebook(tmp_path, "The five epochs took 128 s.")
    assert check_notebook(path, Config(claims=[TIME], marking=exempt)) == []
    path = timing_notebook(tmp_path, "On the build machine the five epochs took 128 s.")
    assert check_notebook(path, Config(claims=[TIME], marking=exempt)) == [
        "09-toy.ipynb: its numbers are marked and its section references declared now: remove it from "
        "[marking] pending_notebooks"]


# ---- claims that wait for the next run -----------------------------------------

def test_a_pending_claim_needs_its_sentence_until_the_output_is_there_and_then_must_hold(tmp_path):
    waiting = claim(output=r"accuracy on validation (?P<value>[\d.]+)%", pending="the cell now scores validation")
    stale = code("evaluate(validation)", "accuracy on test 27.8%\n")      # the output of the cell before the change
    assert check_notebook(notebook(tmp_path, stale, markdown("It reaches 25.5 % on validation.")),
                          Config(claims=[waiting])) == []
    [problem] = check_notebook(notebook(tmp_path, stale, markdown("It does well.")), Config(claims=[waiting]))
    assert problem == ("09-toy.ipynb: claim 'accuracy' (pending: the cell now scores validation): no markdown cell "
                       "says 'reaches {value} % on validation'")
    ran = code("evaluate(validation)", "accuracy on validation 25.5%\n")
    [problem] = check_notebook(notebook(tmp_path, ran, markdown("It reaches 25.5 % on validation.")),
                               Config(claims=[waiting]))
    assert problem == ("09-toy.ipynb: claim 'accuracy' holds now that the notebook was run: remove its line "
                       "pending = 'the cell now scores validation'")
    [problem] = check_notebook(notebook(tmp_path, ran, markdown("It reaches 25.9 % on validation.")),
                               Config(claims=[waiting]))
    assert "the text should say 'reaches 25.5 % on validation'" in problem


# ---- models: prose and tables against the model the code builds ------------------

CONVNET = '''
import torch
import torch.nn.functional as F
from torch import nn

class ConvNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 100, kernel_size=5)
        self.conv2 = nn.Conv2d(100, 50, kernel_size=3)
        self.conv3 = nn.Conv2d(50, 20, kernel_size=3)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(20 * 2 * 2, 80)
        self.fc2 = nn.Linear(80, 40)
        self.fc3 = nn.Linear(40, num_classes)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = self.pool(F.relu(self.conv3(x)))
        x = torch.flatten(x, start_dim=1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))

model = ConvNet()      # not run by the checker: only imports, definitions and CONSTANTS are
'''

TABLE = r'''
| layer | operation | output (channels × height × width) |
|---|---|---|
| input | | $3 \times 32 \times 32$ |
| `conv1` | 100 kernels $3 \times 5 \times 5$ | $100 \times 28 \times 28$ |
| `pool` | max $2 \times 2$ | $100 \times 14 \times 14$ |
| `conv2` | 50 kernels $100 \times 3 \times 3$ | $50 \times 12 \times 12$ |
| `pool` | max $2 \times 2$ | $50 \times 6 \times 6$ |
| `conv3` | 20 kernels $50 \times 3 \times 3$ | $20 \times 4 \times 4$ |
| `pool` | max $2 \times 2$ | $20 \times 2 \times 2$ |
| flatten | | $80$ |
| `fc1`, `fc2`, `fc3` | linear (ReLU between) | $80 \to 80 \to 40 \to 10$ |
'''

CONVNET_MODEL = ModelClaim(notebook="09-toy.ipynb", name="ConvNet", build="ConvNet()", input=(3, 32, 32),
                           prose=("with {parameters:,} parameters", "the `{fc1.in_features}` in `fc1`",
                                  "{linear_widths}"))
PROSE = "A ConvNet with 71,800 parameters. And the `80` in `fc1` is no choice. Its head: 80 -> 80 -> 40 -> 10."


def convnet_notebook(tmp_path, table: str = TABLE, source: str = CONVNET, prose: str = PROSE) -> Path:
    return notebook(tmp_path, code(source), markdown(table), markdown(prose))


def model_problems(path: Path, *models: ModelClaim) -> list[str]:
    return check_notebook(path, Config(models=list(models or [CONVNET_MODEL])))


def test_a_table_and_prose_that_describe_the_built_model_pass(tmp_path):
    assert model_problems(convnet_notebook(tmp_path)) == []


def test_a_table_that_drops_a_width_fails(tmp_path):
    path = convnet_notebook(tmp_path, TABLE.replace(r"$80 \to 80 \to 40 \to 10$", r"$80 \to 40 \to 10$"))
    assert model_problems(path) == [
        "09-toy.ipynb: model 'ConvNet': cell 2, row '| `fc1`, `fc2`, `fc3` | linear (ReLU between) | "
        "$80 \\to 40 \\to 10$ |': says 80 → 40 → 10; the model has 80 → 80 → 40 → 10"]


def test_a_width_changed_in_the_code_fails_in_the_table_and_in_the_prose(tmp_path):
    path = convnet_notebook(tmp_path, source=CONVNET.replace("nn.Conv2d(100, 50,", "nn.Conv2d(100, 60,")
                            .replace("nn.Conv2d(50, 20,", "nn.Conv2d(60, 20,"))
    problems = model_problems(path)
    assert ("09-toy.ipynb: model 'ConvNet': cell 2, row '| `conv2` | 50 kernels $100 \\times 3 \\times 3$ | "
            "$50 \\times 12 \\times 12$ |': says 50 kernels; `conv2` has 60") in problems
    assert any("row '| `conv2` |" in p and "says the output is 50 × 12 × 12; the model's `conv2` gives 60 × 12 × 12"
               in p for p in problems)
    assert any("says kernels of 50 × 3 × 3; `conv3`'s are 60 × 3 × 3" in p for p in problems)
    assert ("09-toy.ipynb: model 'ConvNet': the model built from the code has parameters = 82,610, so the text should "
            "say 'with 82,610 parameters', but no cell does") in problems


def test_a_table_that_leaves_out_a_layer_or_a_use_of_one_fails(tmp_path):
    rows = TABLE.splitlines()
    without_conv3 = "\n".join(row for row in rows if "`conv3`" not in row)
    problems = model_problems(convnet_notebook(tmp_path, without_conv3))
    assert any(p.endswith("leaves out `conv3`, a layer with parameters") for p in problems)
    one_pool_less = "\n".join(rows[:-3] + rows[-2:])     # drops the last `pool` row
    problems = model_problems(convnet_notebook(tmp_path, one_pool_less))
    assert any("shows `pool` 2 time(s); the model uses it 3 times" in p for p in problems), problems


def test_a_wrong_head_size_and_an_unknown_layer_fail(tmp_path):
    table = TABLE.replace(r"$80 \to 80 \to 40 \to 10$", "10 raw scores").replace("| `fc1`, `fc2`, `fc3` |",
                                                                                "| flatten, `fc1`, `fc2`, `fc3` |")
    assert model_problems(convnet_notebook(tmp_path, table)) == []
    problems = model_problems(convnet_notebook(tmp_path, table.replace("10 raw scores", "25 raw scores")))
    assert [p.split("': ")[-1] for p in problems] == ["says the output is 25; the model's `fc3` gives 10 per input"]
    problems = model_problems(convnet_notebook(tmp_path, table.replace("| `conv3` |", "| `conv4` |")))
    assert any("the model has no layer `conv4`" in p for p in problems)


def test_a_table_of_layers_that_no_declared_model_has_fails(tmp_path):
    [problem] = check_notebook(convnet_notebook(tmp_path), Config())
    assert problem.startswith("09-toy.ipynb: the architecture table in cell 2, row '| layer | operation |")
    assert problem.endswith("but no [[model]] of 09-toy.ipynb in notebooks/claims.toml has them: declare the model "
                            "the table describes")


def test_stage_facts_describe_a_vgg_style_network(tmp_path):
    source = '''
    from torch import nn

    def block(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU()]

    def vgg(w=32):
        return nn.Sequential(*block(3, w), *block(w, 2 * w), nn.MaxPool2d(2),
                             *block(2 * w, 2 * w), *block(2 * w, 4 * w), nn.MaxPool2d(2),
                             nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(4 * w, 10))
    '''
    prose = "Three stages? No: {n} convolutions at sizes 32, 16 (2, 2 per stage; widths 64, 128), head 128 → 10."
    vgg = ModelClaim(notebook="09-toy.ipynb", name="vgg", build="vgg()", input=(3, 32, 32),
                     prose=("convolutions at sizes {stage_sizes} ({convs_per_stage} per stage; widths {stage_widths})",
                            "head {model[12].in_features} → {outputs}"))
    path = notebook(tmp_path, code(source), markdown(prose))
    assert model_problems(path, vgg) == []
    path = notebook(tmp_path, code(source), markdown(prose.replace("(2, 2 per", "(2, 3 per")))
    [problem] = model_problems(path, vgg)
    assert "stage_sizes = 32, 16, convs_per_stage = 2, 2, stage_widths = 64, 128" in problem


def test_a_committed_summary_must_be_the_summary_of_the_model_the_code_builds(tmp_path):
    import torch.nn as nn

    import course_utils as cu

    printed = str(cu.summary(nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10)), (3, 32, 32)))
    source = "from torch import nn\n\ndef make():\n    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, {}))"
    spec = ModelClaim(notebook="09-toy.ipynb", name="linear", build="make()", input=(3, 32, 32),
                      summary="cu.summary(model")
    path = notebook(tmp_path, code(source.format(10)), code("cu.summary(model, (3, 32, 32))", printed))
    assert model_problems(path, spec) == []
    path = notebook(tmp_path, code(source.format(24)), code("cu.summary(model, (3, 32, 32))", printed))
    [problem] = model_problems(path, spec)
    assert problem.startswith("09-toy.ipynb: model 'linear': the committed output of the cell with 'cu.summary(model' "
                              "is not its cu.summary table built from the notebook's code now")
    assert "Linear-2                    [2, 24]          73,752" in problem
    path = notebook(tmp_path, code(source.format(10)),
                    code("print('parameters: 30,730')\ncu.summary(model, (3, 32, 32))", "parameters: 30,730\n" + printed))
    assert model_problems(path, spec) == []          # other lines printed beside the whole table are fine
    cut = "\n".join(line for line in printed.splitlines() if "Linear" not in line)
    path = notebook(tmp_path, code(source.format(10)), code("cu.summary(model, (3, 32, 32))", cut))
    assert len(model_problems(path, spec)) == 1      # but a table with a row missing is not


def test_the_checker_fails_on_a_copy_of_lecture_05_with_one_width_changed(tmp_path):
    """The issue's demonstration: change conv2's 50 kernels to 60 in a copy of lecture 05's code.

    Only the lecture's code and prose are read here, never its numbers, so a re-run cannot break it.
    """
    models = [m for m in CONFIG.models if m.notebook == "05-convolution.ipynb"]
    copy = tmp_path / "05-convolution.ipynb"
    shutil.copy(REPO / "notebooks" / "05-convolution.ipynb", copy)
    config = Config(models=models)
    assert check_notebook(copy, config) == []
    nb = nbformat.read(copy, as_version=4)
    [cell] = [c for c in nb.cells if c.cell_type == "code" and "class ConvNet" in c.source]
    cell.source = cell.source.replace("nn.Conv2d(100, 50, kernel_size=3)", "nn.Conv2d(100, 60, kernel_size=3)")
    cell.source = cell.source.replace("nn.Conv2d(50, 20, kernel_size=3)", "nn.Conv2d(60, 20, kernel_size=3)")
    nbformat.write(nb, copy)
    problems = check_notebook(copy, config)
    print("\n".join(problems))       # shown with pytest -s: what the author of the edit reads
    assert any("row '| `conv2` | 50 kernels $100 \\times 3 \\times 3$ | $50 \\times 12 \\times 12$ |': says 50 "
               "kernels; `conv2` has 60" in p for p in problems), problems
    assert any("says the output is 50 × 12 × 12; the model's `conv2` gives 60 × 12 × 12 per input" in p
               for p in problems)
    assert any("is not its cu.summary table built from the notebook's code now" in p for p in problems)


# ---- section references ---------------------------------------------------------

def sections_notebook(tmp_path, reference: str) -> Path:
    return notebook(tmp_path, markdown("## 1. Data\n\n" + reference), markdown("## 2. Training"),
                    markdown("## 3. A GPU, and what it buys"),
                    markdown("## Sources\n\n- Goodfellow et al., *Deep Learning*, section 6.2.2; d2l, section 7."))


def test_a_declared_reference_points_to_its_heading(tmp_path):
    declared = {"09-toy.ipynb": {"a GPU if you have one (see section {n})": "A GPU"}}
    path = sections_notebook(tmp_path, "Use a GPU if you have one (see section 3).")
    assert check_notebook(path, Config(sections=declared)) == []
    path = sections_notebook(tmp_path, "Use a GPU if you have one (see section 2).")
    assert check_notebook(path, Config(sections=declared)) == [
        "09-toy.ipynb: the reference 'a GPU if you have one (see section {n})': 'A GPU' is section 3, so the text "
        "should say 'a GPU if you have one (see section 3)', but it says 'a GPU if you have one (see section 2)'"]


def test_every_section_reference_must_be_declared(tmp_path):
    path = sections_notebook(tmp_path, "Training (section 2) comes next.")
    [problem] = check_notebook(path, Config(sections={"09-toy.ipynb": {}}))
    assert problem == ("09-toy.ipynb: 'section 2' in 'Training (section 2) comes next' is not declared: add under "
                       "[sections.\"09-toy.ipynb\"] in notebooks/claims.toml a line\n"
                       "    'Training (section {n}) comes next' = 'Training'")
