"""Check that what a lecture's prose says agrees with the notebook: its outputs, its models, its headings.

A lecture's text says what its outputs show ("the ConvNet reaches 62.7 % on the validation set"),
what its models look like ("`fc1`, `fc2`, `fc3` | 80 → 80 → 40 → 10"), and where things are ("see
section 7"). When a notebook is re-run or edited, such a sentence can silently become false.
``notebooks/claims.toml`` lists them, and this module checks each one. It has four parts.

**1. Numbers taken from an output** (``[[claim]]``)::

    [[claim]]
    notebook = "05-convolution.ipynb"
    name = "ConvNet validation accuracy"
    kind = "seed"                                          # "exact", "seed" or "machine": see below
    cell = "result = cu.evaluate(model, val_loader)"       # optional: a code cell whose source contains this
    output = 'accuracy=(?P<value>[\\d.]+)%'                  # a regular expression with a group "value"
    prose = "reaches {value} % on the validation set"       # text that must appear in a markdown cell

The check finds ``output`` in the committed text outputs (of that code cell, or of any code cell),
takes the group ``value``, optionally rescales and rounds it (``scale = 1/60``, ``digits = 1``),
puts it into ``prose`` and looks for that text in the notebook's markdown cells (runs of white space
count as one space). ``occurrence = "last"`` uses the last match instead of the first.

``kind`` says how far the number carries beyond the run shown, and it is required:

- ``"exact"``: it follows from the code and the data alone (a parameter count, a data set's mean,
  a hand calculation), so every run of the notebook prints it;
- ``"seed"``: it comes out of training or another computation whose last digits depend on the
  machine, the library versions and the order of floating-point operations, even with the same seed
  (an accuracy, a loss, how many channels died): a student's run prints a slightly different value;
- ``"machine"``: a timing or a speed-up, which depends on the hardware and on what else ran.

For ``seed`` and ``machine`` claims the paragraph that holds the sentence must say whose number it is:
it must contain one of the ``[marking]`` phrases (``"build machine"`` for ``machine``; also ``"this
run"`` or ``"the run shown"`` for ``seed``), and the notebook must name the build machine with the
words of ``[marking] build_machine`` ("a 2-core Intel Xeon CPU with native bfloat16 support").

``pending = "why"`` marks a claim whose code cell was changed after the committed run, so that its
output is not there yet: until the next full run the check only requires the sentence (with any
number in place of ``{value}``); once the output is there the claim is checked like any other, and
a pending claim that holds fails with "remove pending".

**2. Models described in prose and tables** (``[[model]]``)::

    [[model]]
    notebook = "05-convolution.ipynb"
    name = "ConvNet"
    build = "ConvNet()"            # a Python expression that makes the model
    input = [3, 32, 32]            # the shape of ONE input
    summary = "cu.summary(model"   # optional: a code cell whose committed output is cu.summary of this model
    printed = "model = ConvNet()"  # optional: a code cell whose committed output shows the model (its repr)
    prose = ["{parameters:,} parameters", "the `{fc1.in_features}` in `fc1`"]

The model is built from the notebook's own code: every top-level ``import``, ``def``, ``class`` and
assignment to an UPPER_CASE name of its code cells runs (nothing else: no data, no training), then
``build``; a zero batch of two ``input``-shaped images then runs through it once, and forward hooks
record what each layer outputs. Three checks follow:

- every sentence in ``prose`` is a Python format string filled with facts about the model and must
  appear in a markdown cell. Facts: the model's layers by name (``{fc1.out_features}``,
  ``{conv1.kernel_size[0]}``, ``{model[3].out_features}`` for an ``nn.Sequential``), ``{parameters}``
  (write ``{parameters:,}`` for 71,800), ``{outputs}`` (the number of outputs), ``{layers}`` (layers
  with weights: convolutions and linear layers), ``{conv_widths}`` and ``{linear_widths}`` (the channel
  or feature counts from input to output, "3 → 100 → 50 → 20", "80 → 80 → 40 → 10"), ``{stage_sizes}``,
  ``{convs_per_stage}`` and ``{stage_widths}`` (convolutions grouped by the size of their output:
  "32, 16, 8, 4", "2, 3, 1, 2", "64, 128, 256, 256"), and ``{shape[conv1]}`` (a layer's output for one
  input, "100 × 28 × 28"), ``{params[conv1]:,}`` (a layer's parameters, "7,600"). Arrows may be written
  ``->`` or ``→``;
- **every architecture table** of the notebook is checked row by row against the model it describes,
  without being listed: a markdown table whose header starts with "layer", or whose first column names
  layers in backticks. A row names layers in its first column (`` `conv1` ``, `` `fc1`, `fc2`, `fc3` ``;
  a layer used several times, such as `` `pool` ``, takes one row per use); the check reads from the
  row a chain of widths ("80 → 80 → 40 → 10", also ``$80 \\to 40$``), "N kernels a × b × c" of a
  convolution, a pooling window "2 × 2", and, in the last column, the output shape of one input
  ("$100 \\times 28 \\times 28$", "24 raw scores"); a row "input" gives the input's shape. Every layer
  with parameters must appear, and each layer as often as the model uses it;
- ``summary`` and ``printed``: the committed output of that cell holds, whole and unchanged, what the
  model built from the code prints now (``cu.summary``, or the model's repr; the cell may print other
  lines too), so the code, its outputs and the prose agree.

**3. Section references** (``[sections."NN-topic.ipynb"]``)::

    [sections."07-sign-language-case-study.ipynb"]
    "a GPU on Colab if you switched one on — see section {n}" = "A GPU, and what it buys"

Each entry is a phrase with ``{n}`` where the section number goes, and the start of the heading it
means (``## 7. A GPU, and what it buys``); the phrase, with the heading's number, must be in the text.
**Every** "section N" of a notebook's prose (before its "## Sources") must be covered by such an
entry, so a reference cannot go unchecked; a new one fails with the line to add.

**4. Marking** (``[marking]``): ``build_machine``, the words every notebook with ``seed`` or ``machine``
claims uses to name the build machine; ``machine`` and ``seed``, the phrases that mark a paragraph's
numbers as the build machine's; ``pending_notebooks``, notebooks being rewritten on another branch, whose
numbers need not be marked and whose section references need not all be declared until the rewrite lands
(their declared references are still checked; an entry that is no longer needed fails with "remove it").

Example:
    >>> config = read_config(Path("notebooks/claims.toml"))                         # doctest: +SKIP
    >>> check_notebook(Path("notebooks/05-convolution.ipynb"), config)             # doctest: +SKIP
    []
"""
from __future__ import annotations

import ast
import re
import string
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

KINDS = ("exact", "seed", "machine")


# ---------------------------------------------------------------------------
# The configuration: notebooks/claims.toml
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Claim:
    """One sentence of prose whose number must come from an output."""

    notebook: str
    name: str
    output: str
    prose: str
    kind: str
    cell: str | None = None
    occurrence: str = "first"
    scale: float | None = None
    digits: int | None = None
    pending: str | None = None


@dataclass(frozen=True)
class ModelClaim:
    """A model a notebook builds, and the sentences and tables that describe it."""

    notebook: str
    name: str
    build: str
    input: tuple[int, ...]
    summary: str | None = None
    printed: str | None = None
    prose: tuple[str, ...] = ()


@dataclass(frozen=True)
class Marking:
    """How the prose marks the numbers of one machine's run (see the module's docstring)."""

    build_machine: str = ""
    machine: tuple[str, ...] = ("build machine",)
    seed: tuple[str, ...] = ("build machine", "this run", "the run shown")
    pending_notebooks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    """Everything notebooks/claims.toml asks to check."""

    claims: list[Claim] = field(default_factory=list)
    models: list[ModelClaim] = field(default_factory=list)
    sections: dict[str, dict[str, str]] = field(default_factory=dict)
    marking: Marking = field(default_factory=Marking)


class ConfigError(ValueError):
    """claims.toml itself is wrong (a missing field, an unknown kind)."""


def read_config(path: Path) -> Config:
    """Read notebooks/claims.toml (or another file in its format)."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    known = {"claim", "model", "sections", "marking"}
    if set(data) - known:
        raise ConfigError(f"{path}: unknown tables {sorted(set(data) - known)}; expected {sorted(known)}")
    claims = [_claim(entry, path) for entry in data.get("claim", [])]
    models = [_model(entry, path) for entry in data.get("model", [])]
    marking = data.get("marking", {})
    return Config(
        claims=claims, models=models,
        sections={notebook: dict(entries) for notebook, entries in data.get("sections", {}).items()},
        marking=Marking(build_machine=marking.get("build_machine", ""),
                        machine=tuple(marking.get("machine", Marking.machine)),
                        seed=tuple(marking.get("seed", Marking.seed)),
                        pending_notebooks=tuple(marking.get("pending_notebooks", ()))),
    )


def read_claims(path: Path) -> list[Claim]:
    """Only the ``[[claim]]`` entries of a claims file."""
    return read_config(path).claims


def _claim(entry: dict, path: Path) -> Claim:
    name = entry.get("name", "?")
    if "kind" not in entry:
        raise ConfigError(f"{path}: claim {name!r} ({entry.get('notebook')}) has no kind: add kind = \"exact\" "
                          f"(the same in every run), \"seed\" (depends on training or the machine's arithmetic) or "
                          f"\"machine\" (a timing or speed-up); see tests/claims.py")
    if entry["kind"] not in KINDS:
        raise ConfigError(f"{path}: claim {name!r} has kind {entry['kind']!r}; expected one of {KINDS}")
    try:
        return Claim(**entry)
    except TypeError as error:
        raise ConfigError(f"{path}: claim {name!r}: {error}") from error


def _model(entry: dict, path: Path) -> ModelClaim:
    try:
        entry = dict(entry, input=tuple(entry["input"]), prose=tuple(entry.get("prose", ())))
        return ModelClaim(**entry)
    except (KeyError, TypeError) as error:
        raise ConfigError(f"{path}: model {entry.get('name', '?')!r}: {error}") from error


# ---------------------------------------------------------------------------
# Reading a notebook's text
# ---------------------------------------------------------------------------

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


def _arrows(text: str) -> str:
    """``->`` written as ``→``, so that either spelling of a chain of widths matches."""
    return text.replace("->", "→")


def _markdown(nb) -> str:
    """The markdown cells' text, without the ``>`` of block quotes (a quoted note is prose too)."""
    return "\n\n".join(re.sub(r"(?m)^[ \t]*>[ \t]?", "", cell.source) for cell in nb.cells
                       if cell.cell_type == "markdown")


def _paragraphs(nb) -> list[str]:
    """The markdown cells' paragraphs (text between blank lines), each made loose."""
    return [_loose(part) for cell in nb.cells if cell.cell_type == "markdown"
            for part in re.split(r"\n\s*\n", cell.source) if part.strip()]


def _code_cells(nb, part: str | None) -> list:
    cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    return cells if part is None else [cell for cell in cells if part in cell.source]


def _has_outputs(nb) -> bool:
    return any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")


# ---------------------------------------------------------------------------
# 1. Numbers from outputs
# ---------------------------------------------------------------------------

def _value(claim: Claim, raw: str) -> str:
    """The matched value, rescaled and rounded as the claim asks."""
    if claim.scale is None and claim.digits is None:
        return raw
    number = float(raw.replace(",", "")) * (claim.scale if claim.scale is not None else 1.0)
    digits = claim.digits if claim.digits is not None else 1
    return f"{number:,.{digits}f}"


def _squash(text: str) -> str:
    """Runs of white space made one space, keeping a space at either end (for parts of a sentence)."""
    return re.sub(r"\s+", " ", text)


def _with_any_number(template: str, field: str = "{value}", number: str = r"-?[\d.,]+(?:e-?\d+)?") -> re.Pattern:
    """The template as a pattern, with any number where ``field`` goes."""
    before, _, after = template.partition(field)
    return re.compile(re.escape(_squash(before)) + number + re.escape(_squash(after)))


def check_claim(nb, claim: Claim, marking: Marking = Marking()) -> str | None:
    """None when the claim holds in the notebook ``nb``, else the reason it does not."""
    where = f"{claim.notebook}: claim {claim.name!r}"
    code_cells = _code_cells(nb, claim.cell)
    if not code_cells:
        return f"{where}: no code cell contains {claim.cell!r}"
    text = "\n".join(_text_outputs(cell) for cell in code_cells)
    matches = list(re.finditer(claim.output, text))
    markdown = _loose(_markdown(nb))
    if not matches:
        if claim.pending is not None:
            if not _with_any_number(_loose(claim.prose)).search(markdown):
                return f"{where} (pending: {claim.pending}): no markdown cell says {_loose(claim.prose)!r}"
            return None
        return f"{where}: the outputs do not contain {claim.output!r} (was the notebook re-run? is it saved with outputs?)"
    match = matches[0] if claim.occurrence == "first" else matches[-1]
    value = _value(claim, match.group("value"))
    expected = _loose(claim.prose.format(value=value))
    if expected not in markdown:
        return (f"{where}: the output says {match.group(0)!r}, so the text should say {expected!r}, "
                f"but no markdown cell does")
    if claim.pending is not None:
        return f"{where} holds now that the notebook was run: remove its line pending = {claim.pending!r}"
    if claim.kind != "exact" and claim.notebook not in marking.pending_notebooks:
        return _marking_problem(nb, claim, expected, marking)
    return None


def _marking_problem(nb, claim: Claim, expected: str, marking: Marking) -> str | None:
    """None when the paragraph of a seed or machine claim says whose number it is."""
    markers = marking.machine if claim.kind == "machine" else marking.seed
    paragraphs = [p for p in _paragraphs(nb) if expected in p] or [_loose(_markdown(nb))]
    if any(marker.lower() in p.lower() for p in paragraphs for marker in markers):
        return None
    what = "a timing or speed-up" if claim.kind == "machine" else "a value that depends on training and the machine"
    return (f"{claim.notebook}: claim {claim.name!r} ({claim.kind}: {what}) is quoted without saying whose number it "
            f"is: the paragraph with {expected!r} should say " + " or ".join(repr(m) for m in markers)
            + " (a student's run prints another value)")


def unmarked_notebook_problems(nb, name: str, config: Config) -> list[str]:
    """A notebook with seed or machine claims names the build machine; an exemption that is no longer needed fails."""
    claims = [c for c in config.claims if c.notebook == name and c.kind != "exact" and c.pending is None]
    if not claims:
        return []
    marking = config.marking
    if name in marking.pending_notebooks:
        strict = Marking(marking.build_machine, marking.machine, marking.seed, ())
        sections_complete = not check_sections(nb, name, config.sections.get(name, {}))
        if (_names_build_machine(nb, marking) and sections_complete
                and all(check_claim(nb, c, strict) is None for c in claims)):
            return [f"{name}: its numbers are marked and its section references declared now: remove it from "
                    f"[marking] pending_notebooks"]
        return []
    if not _names_build_machine(nb, marking):
        return [f"{name}: it quotes numbers of the build machine's run ({claims[0].name!r}, ...) but never names "
                f"the machine: say somewhere that the outputs come from the build machine, {marking.build_machine!r}"]
    return []


def _names_build_machine(nb, marking: Marking) -> bool:
    return _loose(marking.build_machine).lower() in _loose(_markdown(nb)).lower()


# ---------------------------------------------------------------------------
# 2. Models: built from the notebook's code, traced, compared with prose, tables and printed outputs
# ---------------------------------------------------------------------------

def notebook_definitions(nb) -> tuple[dict, list[str]]:
    """Run the imports, functions, classes and UPPER_CASE constants of a notebook's code cells.

    Returns the namespace and the statements that failed (each with its error), so that a model
    that cannot be built can say why.
    """
    namespace: dict[str, Any] = {"__name__": "__claims__"}
    failures = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(re.sub(r"^(\s*)[%!].*$", r"\1pass", line) for line in cell.source.splitlines())
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue   # a cell that is meant to fail, or not Python
        for statement in tree.body:
            if not _is_definition(statement):
                continue
            code = ast.Module(body=[statement], type_ignores=[])
            try:
                exec(compile(code, "<notebook cell>", "exec"), namespace)
            except Exception as error:   # noqa: BLE001 - reported only if the model cannot be built
                failures.append(f"{ast.unparse(statement).splitlines()[0]!r}: {type(error).__name__}: {error}")
    return namespace, failures


def _is_definition(statement: ast.stmt) -> bool:
    if isinstance(statement, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
        return True
    if isinstance(statement, ast.Assign):
        return all(isinstance(t, ast.Name) and t.id.isupper() and len(t.id) > 1 for t in statement.targets)
    return False


@dataclass
class Call:
    """One call of a layer during the traced forward pass."""

    name: str        # the layer's name in the model ("conv1", "features.0")
    module: Any      # the nn.Module
    output: tuple    # the output's shape for ONE input


@dataclass
class Traced:
    """A model built from a notebook, and what its layers did on a zero batch."""

    model: Any
    input: tuple
    calls: list[Call]
    output: tuple


def build_model(nb, spec: ModelClaim, definitions: tuple[dict, list[str]] | None = None) -> Traced:
    """Build ``spec.build`` from the notebook's code and trace one forward pass (leaf layers, in call order).

    ``definitions``: what ``notebook_definitions(nb)`` returned, when it was already run.
    """
    import torch

    namespace, failures = definitions if definitions is not None else notebook_definitions(nb)
    try:
        model = eval(spec.build, namespace)
    except Exception as error:
        details = "".join(f"\n    {failure}" for failure in failures[:5])
        raise ValueError(f"{spec.notebook}: model {spec.name!r}: {spec.build} could not be built from the notebook's "
                         f"code: {type(error).__name__}: {error}" + (f"; statements that failed:{details}"
                                                                     if details else "")) from error
    names = {module: name for name, module in model.named_modules() if not list(module.children())}
    calls: list[Call] = []

    def record(module, inputs, output):
        if isinstance(output, torch.Tensor):
            calls.append(Call(names[module], module, tuple(output.shape[1:])))

    handles = [module.register_forward_hook(record) for module in names]
    try:
        model.eval()
        with torch.no_grad():
            output = model(torch.zeros(2, *spec.input))
    finally:
        for handle in handles:
            handle.remove()
    return Traced(model, tuple(spec.input), calls, tuple(output.shape[1:]))


def _shape_text(shape: tuple) -> str:
    return " × ".join(str(n) for n in shape)


def _widths(calls: list[Call]) -> list[int] | None:
    """The channel or feature counts along layers with weights: the first one's input, then each output."""
    import torch.nn as nn

    weighted = [c.module for c in calls if isinstance(c.module, (nn.Linear, nn.modules.conv._ConvNd))]
    if not weighted:
        return None
    def size_in(m):
        return m.in_features if isinstance(m, nn.Linear) else m.in_channels
    def size_out(m):
        return m.out_features if isinstance(m, nn.Linear) else m.out_channels
    return [size_in(weighted[0])] + [size_out(m) for m in weighted]


def _stages(calls: list[Call]) -> list[list[Call]]:
    """Convolutions grouped by the spatial size of their output, consecutive ones together."""
    import torch.nn as nn

    groups: list[list[Call]] = []
    for call in calls:
        if isinstance(call.module, nn.modules.conv._ConvNd):
            if groups and groups[-1][-1].output[1:] == call.output[1:]:
                groups[-1].append(call)
            else:
                groups.append([call])
    return groups


def model_facts(traced: Traced) -> dict[str, Any]:
    """What a prose template may say about a traced model (see the module's docstring)."""
    import torch.nn as nn

    calls = traced.calls
    convs = [c for c in calls if isinstance(c.module, nn.modules.conv._ConvNd)]
    linears = [c for c in calls if isinstance(c.module, nn.Linear)]
    chain = lambda numbers: " → ".join(str(n) for n in numbers) if numbers else ""  # noqa: E731
    stages = _stages(calls)
    size = lambda shape: str(shape[0]) if shape[0] == shape[1] else f"{shape[0]}×{shape[1]}"  # noqa: E731
    shapes: dict[str, str] = {}
    for call in calls:
        shapes.setdefault(call.name, _shape_text(call.output))
    facts: dict[str, Any] = dict(traced.model.named_children())
    facts.update(
        model=traced.model,
        parameters=sum(p.numel() for p in traced.model.parameters()),
        outputs=traced.output[-1],
        layers=len(convs) + len(linears),
        conv_widths=chain(_widths(convs) or []),
        linear_widths=chain(_widths(linears) or []),
        stage_sizes=", ".join(size(group[0].output[1:]) for group in stages),
        convs_per_stage=", ".join(str(len(group)) for group in stages),
        stage_widths=", ".join(str(group[-1].module.out_channels) for group in stages),
        shape=shapes,
        params={name: sum(p.numel() for p in module.parameters()) for name, module in traced.model.named_modules()
                if name},
    )
    return facts


def fill(template: str, facts: dict[str, Any]) -> str:
    """A prose template with the model's facts in place (a clear error for a fact that does not exist)."""
    try:
        return string.Formatter().vformat(template, (), facts)
    except (KeyError, AttributeError, IndexError, TypeError) as error:
        raise ValueError(f"the template {template!r} asks for something the model does not have: "
                         f"{type(error).__name__}: {error}") from error


def _prose_text(nb) -> str:
    """Where model sentences may stand: markdown, and the comment lines of code cells (hints)."""
    comments = [line.strip().lstrip("#") for cell in nb.cells if cell.cell_type == "code"
                for line in cell.source.splitlines() if line.strip().startswith("#")]
    return _arrows(_loose(_markdown(nb) + "\n" + "\n".join(comments)))


def check_model_prose(nb, spec: ModelClaim, traced: Traced) -> list[str]:
    facts = model_facts(traced)
    text = _prose_text(nb)
    problems = []
    for template in spec.prose:
        where = f"{spec.notebook}: model {spec.name!r}"
        try:
            expected = _arrows(_loose(fill(template, facts)))
        except ValueError as error:
            problems.append(f"{where}: {error}")
            continue
        if expected not in text:
            problems.append(f"{where}: the model built from the code has {_what_template_says(template, facts)}, "
                            f"so the text should say {expected!r}, but no cell does")
    return problems


def _what_template_says(template: str, facts: dict[str, Any]) -> str:
    fields = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    parts = []
    for name in fields:
        try:
            value = string.Formatter().get_field(name, (), facts)[0]
        except (KeyError, AttributeError, IndexError, TypeError):
            continue
        parts.append(f"{name} = {value:,}" if isinstance(value, int) else f"{name} = {value}")
    return ", ".join(parts) or "other values"


def check_printed_model(nb, spec: ModelClaim, traced: Traced) -> list[str]:
    """The committed summary table / repr of the model is what the code builds now."""
    problems = []
    if spec.summary is not None:
        problems += _compare_output(nb, spec, spec.summary, "its cu.summary table", _summary_text(traced),
                                    whole=False)     # (the cell may print other lines too, as 08's does)
    if spec.printed is not None:
        problems += _compare_output(nb, spec, spec.printed, "the model as printed", repr(traced.model), whole=False)
    return problems


def _summary_text(traced: Traced) -> str:
    import course_utils as cu

    return str(cu.summary(traced.model, traced.input))


def _compare_output(nb, spec: ModelClaim, cell_part: str, what: str, expected: str, whole: bool = True) -> list[str]:
    where = f"{spec.notebook}: model {spec.name!r}"
    cells = _code_cells(nb, cell_part)
    if not cells:
        return [f"{where}: no code cell contains {cell_part!r}"]
    if not _has_outputs(nb):
        return []   # committed without outputs: nothing printed to compare
    printed = "\n".join(_text_outputs(cell) for cell in cells)
    clean = lambda text: "\n".join(line.rstrip() for line in text.strip().splitlines())  # noqa: E731
    if (clean(printed) == clean(expected)) if whole else (clean(expected) in clean(printed)):
        return []
    return [f"{where}: the committed output of the cell with {cell_part!r} is not {what} built from the "
            f"notebook's code now (was the code changed after the run? re-run the notebook). The code gives:\n"
            f"{clean(expected)}"]


# ---- architecture tables ---------------------------------------------------

def _plain(text: str) -> str:
    """Table text without LaTeX: ``$100 \\times 28$`` -> ``100 × 28``, ``\\to`` and ``->`` -> ``→``."""
    text = text.replace("{,}", ",")
    for latex, plain in (("\\times", "×"), ("\\rightarrow", "→"), ("\\to", "→"), ("->", "→")):
        text = text.replace(latex, plain)
    return re.sub(r"\$|\\[,;!]", "", text)


NUMBER = r"\d{1,3}(?:,\d{3})+(?!\d)|\d+"   # 3072, 30,730 (a comma after a number is not part of it)
CHAIN = re.compile(rf"(?:{NUMBER})(?:\s*→\s*(?:{NUMBER}))+")
SHAPE = re.compile(rf"(?:{NUMBER})(?:\s*×\s*(?:{NUMBER}))*")
KERNELS = re.compile(rf"({NUMBER})\s+kernels?\s+((?:{NUMBER})(?:\s*×\s*(?:{NUMBER}))+)?")
BACKTICKED = re.compile(r"`([A-Za-z_][\w.]*)`")


def _numbers(text: str) -> list[int]:
    return [int(n.replace(",", "")) for n in re.findall(NUMBER, text)]


@dataclass
class Table:
    cell: int                 # the markdown cell's index (0-based)
    header: list[str]
    rows: list[list[str]]

    def describe(self, row: list[str] | None = None) -> str:
        shown = row if row is not None else self.header
        return f"cell {self.cell + 1}, row '| {' | '.join(shown)} |'"


def markdown_tables(nb) -> list[Table]:
    """Every markdown table of the notebook: its header and its rows, split into cells."""
    tables = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines() + [""]
        block: list[list[str]] = []
        for line in lines:
            if line.strip().startswith("|"):
                block.append([part.strip() for part in line.strip().strip("|").split("|")])
                continue
            if len(block) >= 2 and all(re.fullmatch(r":?-+:?", part) for part in block[1]):
                tables.append(Table(index, block[0], block[2:]))
            block = []
    return tables


def is_architecture_table(table: Table) -> bool:
    return table.header[0].lower().startswith("layer") or any(BACKTICKED.search(row[0]) for row in table.rows)


def check_tables(nb, name: str, traced_models: dict[str, Traced]) -> list[str]:
    """Every architecture table of the notebook agrees with the declared model it describes."""
    problems = []
    for table in markdown_tables(nb):
        if not is_architecture_table(table):
            continue
        named = [n for row in table.rows for n in BACKTICKED.findall(row[0])]
        scores = {model: sum(n in _layers(traced) for n in named) for model, traced in traced_models.items()}
        best = max(scores, key=scores.get, default=None)
        if best is None or scores[best] == 0:
            problems.append(f"{name}: the architecture table in {table.describe()} names the layers "
                            f"{', '.join('`' + n + '`' for n in dict.fromkeys(named)) or '(none)'}, but no [[model]] "
                            f"of {name} in notebooks/claims.toml has them: declare the model the table describes")
            continue
        problems += [f"{name}: model {best!r}: {p}" for p in _check_table(table, traced_models[best])]
    return problems


def _layers(traced: Traced) -> dict[str, list[Call]]:
    layers: dict[str, list[Call]] = {}
    for call in traced.calls:
        layers.setdefault(call.name, []).append(call)
    return layers


def _check_table(table: Table, traced: Traced) -> list[str]:
    import torch.nn as nn

    layers = _layers(traced)
    used = Counter()
    problems = []
    for row in table.rows:
        where = table.describe(row)
        names = BACKTICKED.findall(row[0])
        cells = [_plain(cell) for cell in row[1:]]
        last = cells[-1] if cells else ""
        if not names:
            if row[0].strip().lower() == "input":
                shape = SHAPE.search(last)
                if shape and tuple(_numbers(shape.group(0))) != traced.input:
                    problems.append(f"{where}: the input is {_shape_text(traced.input)}, not {shape.group(0)}")
            continue
        calls = []
        for n in names:
            if n not in layers:
                problems.append(f"{where}: the model has no layer `{n}` (its layers: "
                                f"{', '.join('`' + k + '`' for k in layers)})")
                continue
            if used[n] >= len(layers[n]):
                problems.append(f"{where}: the table shows `{n}` more often than the model uses it "
                                f"({len(layers[n])} time{'s' if len(layers[n]) > 1 else ''})")
                continue
            calls.append(layers[n][used[n]])
            used[n] += 1
        if not calls:
            continue
        widths = _widths(calls)
        for chain in CHAIN.finditer(" ".join(cells)):
            said = _numbers(chain.group(0))
            if widths is None:
                problems.append(f"{where}: gives the widths {chain.group(0)}, but its layers have no weights")
            elif said != widths:
                problems.append(f"{where}: says {chain.group(0)}; the model has "
                                f"{' → '.join(str(n) for n in widths)}")
        convs = [c.module for c in calls if isinstance(c.module, nn.modules.conv._ConvNd)]
        for kernels in KERNELS.finditer(" ".join(cells[:-1])):
            if len(convs) != 1:
                continue
            conv = convs[0]
            count = int(kernels.group(1).replace(",", ""))
            if count != conv.out_channels:
                problems.append(f"{where}: says {count} kernels; `{calls[0].name}` has {conv.out_channels}")
            if kernels.group(2):
                said = sorted(_numbers(kernels.group(2)))
                full, spatial = sorted([conv.in_channels, *conv.kernel_size]), sorted(conv.kernel_size)
                if said not in (full, spatial):
                    problems.append(f"{where}: says kernels of {kernels.group(2)}; `{calls[0].name}`'s are "
                                    f"{conv.in_channels} × {' × '.join(str(k) for k in conv.kernel_size)} "
                                    f"(input channels × height × width)")
        pools = [c.module for c in calls if isinstance(c.module, nn.modules.pooling._MaxPoolNd)]
        if len(pools) == 1:
            size = pools[0].kernel_size
            size = tuple(size) if isinstance(size, tuple) else (size, size)
            for window in re.finditer(rf"(?:{NUMBER})\s*×\s*(?:{NUMBER})", " ".join(cells[:-1])):
                if tuple(_numbers(window.group(0))) != size:
                    problems.append(f"{where}: says a {window.group(0)} window; `{calls[0].name}` pools "
                                    f"{size[0]} × {size[1]}")
        if cells and not CHAIN.search(last):
            shape = SHAPE.search(last)
            if shape and tuple(_numbers(shape.group(0))) != calls[-1].output:
                problems.append(f"{where}: says the output is {shape.group(0)}; the model's `{calls[-1].name}` "
                                f"gives {_shape_text(calls[-1].output)} per input")
    for n, calls in layers.items():
        has_weights = any(True for _ in calls[0].module.parameters(recurse=False))
        if has_weights and used[n] == 0:
            problems.append(f"the table in {table.describe()} leaves out `{n}`, a layer with parameters")
        elif 0 < used[n] < len(calls):
            problems.append(f"the table in {table.describe()} shows `{n}` {used[n]} time(s); the model uses it "
                            f"{len(calls)} times")
    return problems


def check_models(nb, name: str, specs: list[ModelClaim]) -> list[str]:
    """All model checks of one notebook: prose, printed outputs, architecture tables."""
    problems = []
    traced_models = {}
    definitions = notebook_definitions(nb) if specs else None
    for spec in specs:
        try:
            traced = build_model(nb, spec, definitions)
        except ValueError as error:
            problems.append(str(error))
            continue
        traced_models[spec.name] = traced
        problems += check_model_prose(nb, spec, traced)
        problems += check_printed_model(nb, spec, traced)
    return problems + check_tables(nb, name, traced_models)


# ---------------------------------------------------------------------------
# 3. Section references
# ---------------------------------------------------------------------------

HEADING = re.compile(r"^##\s+(\d+)\.\s+(.+?)\s*$", re.MULTILINE)
REFERENCE = re.compile(r"\b[Ss]ection\s+(\d+)(?![.,]?\d)")


def headings(nb) -> dict[int, str]:
    """The numbered sections of a notebook: {7: "A GPU, and what it buys"}."""
    return {int(number): title for number, title in HEADING.findall(_markdown(nb))}


def _before_sources(nb) -> str:
    """The prose up to the "## Sources" heading, one loose paragraph a line (later come other works' sections)."""
    prose = _markdown(nb).split("\n## Sources")[0]
    return "\n".join(_arrows(_loose(part)) for part in re.split(r"\n\s*\n", prose) if part.strip())


def check_sections(nb, name: str, declared: dict[str, str], complete: bool = True) -> list[str]:
    """Every "section N" points to the heading it is declared to mean, and (``complete``) every one is declared."""
    titles = headings(nb)
    text = _before_sources(nb)
    problems, covered = [], []
    for phrase, heading in declared.items():
        where = f"{name}: the reference {phrase!r}"
        matching = [number for number, title in titles.items() if _loose(title).startswith(_loose(heading))]
        if len(matching) != 1:
            problems.append(f"{where} means the heading {heading!r}, but {len(matching)} numbered headings start "
                            f"that way (headings: {titles})")
            continue
        expected = _arrows(_loose(phrase.format(n=matching[0])))
        spans = [(m.start(), m.end()) for m in re.finditer(re.escape(expected), text)]
        if spans:
            covered += spans
            continue
        found = _with_any_number(_arrows(_loose(phrase)), "{n}", r"\d+").search(text)
        if found:
            problems.append(f"{where}: {heading!r} is section {matching[0]}, so the text should say {expected!r}, "
                            f"but it says {found.group(0)!r}")
            covered.append(found.span())
        else:
            problems.append(f"{where}: the text should say {expected!r}, but no cell does")
    for reference in REFERENCE.finditer(text) if complete else ():
        if any(start <= reference.start() < end for start, end in covered):
            continue
        number = int(reference.group(1))
        start = max(0, reference.start() - 50)
        before = re.split(r"[.?!;]\s|:\s|\n", text[start:reference.start()])
        before = before[-1] if len(before) > 1 or start == 0 else before[-1].split(" ", 1)[-1]   # whole words
        after = re.split(r"[.,;:—\n]", text[reference.end():reference.end() + 25])[0]
        context = (before + reference.group(0) + after).strip()
        phrase = (before + reference.group(0).replace(reference.group(1), "{n}") + after).strip()
        problems.append(f"{name}: {reference.group(0)!r} in {context!r} is not declared: add under "
                        f"[sections.\"{name}\"] in notebooks/claims.toml a line\n    {phrase!r} = "
                        f"{titles.get(number, '<the heading it means>')!r}")
    return problems


# ---------------------------------------------------------------------------
# Everything about one notebook
# ---------------------------------------------------------------------------

def check_notebook(path: Path, config: Config | list[Claim]) -> list[str]:
    """Every problem with the claims, models and section references of the notebook at ``path``."""
    if isinstance(config, list):
        config = Config(claims=config)
    nb = nbformat.read(path, as_version=4)
    name = path.name
    problems = [problem for claim in config.claims if claim.notebook == name
                for problem in [check_claim(nb, claim, config.marking)] if problem is not None]
    problems += unmarked_notebook_problems(nb, name, config)
    problems += check_models(nb, name, [m for m in config.models if m.notebook == name])
    if name in config.sections or (config.sections and REFERENCE.search(_before_sources(nb))):
        problems += check_sections(nb, name, config.sections.get(name, {}),
                                   complete=name not in config.marking.pending_notebooks)
    return problems


def pending_claims(config: Config) -> list[Claim]:
    """The claims that wait for the next full run of their notebook."""
    return [claim for claim in config.claims if claim.pending is not None]
