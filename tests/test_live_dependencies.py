"""Tests for the dependency check (course_tools/live/dependencies.py, scopes.py): every shape of dependency.

Each test builds a small lecture whose first blank makes some names, and asserts which
of them the code after the blank needs (``needed``) -- and, for a hint that leaves one
out, the message ``--check`` would print.
"""
from __future__ import annotations

import ast

import pytest

from course_tools.live.dependencies import blank_needs, needs_problems
from course_tools.live.scopes import block_bindings, expression_reads, function_reads
from live_helpers import code, md, notebook


def needed(*cells) -> list[str]:
    """The names the lecture's first blank makes that later code needs."""
    return [need.name for need in blank_needs(notebook(*cells))[0].needed]


def blank(source: str, hint: str = "# the blank") -> object:
    """A live-blank cell with a hint."""
    return code(f"{hint}\n{source}", "live-blank")


# ----------------------------------------------------------------------------- the shapes the issue lists


def test_a_name_used_two_cells_later():
    assert needed(blank("x = 1"), code("print('between')"), code("print(x)")) == ["x"]


def test_a_name_rebound_before_use_is_not_a_dependency():
    assert needed(blank("x = 1"), code("x = 2"), code("print(x)")) == []
    assert needed(blank("x = 1"), code("x = 2\nprint(x)")) == []
    assert needed(blank("x = 1"), code("x = x + 1")) == ["x"]          # read before it is rebound
    assert needed(blank("x = 1"), code("x += 1")) == ["x"]             # an augmented assignment reads first


def test_a_function_defined_in_a_blank_and_called_later():
    assert needed(blank("def f(a):\n    return 2 * a"), code("y = f(3)")) == ["f"]


def test_a_name_used_only_inside_a_function_counts_when_the_function_is_called():
    later_def = code("def report():\n    return weights.sum()")
    assert needed(blank("weights = [1, 2]"), later_def) == []                       # defined, never called
    assert needed(blank("weights = [1, 2]"), later_def, code("report()")) == ["weights"]
    assert needed(blank("weights = [1, 2]"), later_def, code("weights = [3]"), code("report()")) == []
    # through another function, and through a function defined before the blank
    chain = code("def outer():\n    return report() + 1")
    assert needed(blank("weights = [1, 2]"), later_def, chain, code("outer()")) == ["weights"]
    assert needed(code("def report():\n    return weights"), blank("weights = 1"), code("report()")) == ["weights"]


def test_a_class_made_in_a_blank_and_its_attribute_read_later():
    assert needed(blank("class Config:\n    lr = 0.1"), code("print(Config.lr)")) == ["Config"]


def test_a_class_attribute_made_by_a_region_in_a_class_body():
    cells = (code("class Config:\n    # live-start: the learning rate\n    lr = 0.1\n    # live-end\n    epochs = 2"),
             code("print(Config.lr)"))
    needs = blank_needs(notebook(*cells))[0]
    assert needs.makes == ("Config.lr",)
    assert [need.name for need in needs.needed] == ["Config.lr"]


def test_a_special_method_in_a_class_body_is_needed_when_the_class_is_used():
    cells = (code("class Net:\n    # live-start: the forward pass\n    def forward(self, x):\n        return x\n"
                  "    # live-end"),
             code("net = Net()"))
    assert [need.name for need in blank_needs(notebook(*cells))[0].needed] == ["Net.forward"]


def test_an_attribute_set_on_an_existing_object():
    cells = (code("import types\nmodel = types.SimpleNamespace()"), blank("model.fc = 3"), code("print(model.fc)"))
    needs = blank_needs(notebook(*cells))[0]
    assert needs.makes == ("model.fc",) and [need.name for need in needs.needed] == ["model.fc"]
    cells = (code("import types\nmodel = types.SimpleNamespace()"), blank("model.fc = 3"), code("model = 1\nprint(model.fc)"))
    assert blank_needs(notebook(*cells))[0].needed == ()


def test_a_for_target():
    assert needed(blank("for i in range(3):\n    total = i"), code("print(i, total)")) == ["i", "total"]


def test_an_import():
    assert needed(blank("import numpy as np\nimport os.path\nfrom math import pi as PI"),
                  code("np.zeros(3)\nos.sep\nPI")) == ["np", "os", "PI"]


# ----------------------------------------------------------------------------- more binding forms


@pytest.mark.parametrize(
    ("source", "makes"),
    [
        ("a, (b, *c) = 1, (2, 3, 4)", ["a", "b", "c"]),
        ("x: int = 1\ny: int", ["x"]),                       # an annotation alone binds nothing
        ("n += 1", ["n"]),
        ("with open('f') as handle:\n    data = 1", ["handle", "data"]),
        ("try:\n    pass\nexcept ValueError as error:\n    seen = 1", ["seen"]),   # `error` is deleted after
        ("if (m := 3) > 2:\n    pass", ["m"]),
        ("squares = [k * k for k in range(3)]", ["squares"]),  # the comprehension's k does not leak
        ("total = sum([(last := k) for k in range(3)])", ["total", "last"]),  # ... but := does
        ("match point:\n    case (px, py):\n        pass", ["px", "py"]),
        ("def f():\n    inner = 1", ["f"]),                   # a function's own names are its own
        ("class C:\n    attr = 1\n    def m(self):\n        pass", ["C"]),
    ],
)
def test_what_a_blank_makes(source, makes):
    assert list(blank_needs(notebook(blank(source)))[0].makes) == makes


def test_comprehension_variables_and_lambda_arguments_are_not_reads():
    reads = expression_reads(ast.parse("[k + z for k in ks] + list(map(lambda q: q + w, qs))", mode="eval").body)
    names = {name for name, _ in reads}
    assert {"ks", "z", "w", "qs", "map", "list"} <= names and not names & {"k", "q"}


def test_function_reads_are_its_free_names():
    tree = ast.parse("def f(a, *rest, key=None):\n    b = a\n    global g\n    g = 1\n    return b + c + g + len(rest)")
    assert function_reads(tree.body[0]) == {"c", "g", "len"}


def test_block_bindings_of_a_whole_cell():
    names, attributes = block_bindings(ast.parse("import torch\nmodel.fc = 1\nfor i in x:\n    y = i").body)
    assert names == ["torch", "i", "y"] and attributes == ["model.fc"]


# ----------------------------------------------------------------------------- flow: what surely rebinds


def test_a_rebinding_in_only_one_branch_does_not_hide_the_blank():
    assert needed(blank("x = 1"), code("if flag:\n    x = 2\nprint(x)")) == ["x"]
    assert needed(blank("x = 1"), code("if flag:\n    x = 2\nelse:\n    x = 3\nprint(x)")) == []
    assert needed(blank("x = 1"), code("for _ in range(2):\n    x = 2\nprint(x)")) == ["x"]
    assert needed(blank("x = 1"), code("with ctx:\n    x = 2\nprint(x)")) == []
    assert needed(blank("x = 1"), code("for _ in range(2):\n    x = 2\n    print(x)")) == []   # same block


def test_dropped_cells_do_not_count():
    assert needed(blank("x = 1"), code("print(x)", "live-drop")) == []


def test_the_rest_of_the_blanks_own_cell_counts():
    cell = code("a = 1\n# live-start: b\nb = a + 1\n# live-end\nprint(b)")
    assert needed(cell) == ["b"]


def test_later_blanks_count_since_catching_up_runs_their_code():
    assert needed(blank("x = 1"), blank("y = x * 2", "# second blank")) == ["x"]


def test_a_region_in_a_loop_is_followed_by_the_next_iteration():
    cell = code(
        "total = 0\n"
        "for value in data:\n"
        "    print(running)\n"
        "    # live-start: keep a running sum\n"
        "    running = total + value\n"
        "    # live-end\n"
    )
    assert needed(cell) == ["running"]


# ----------------------------------------------------------------------------- inside a function


def test_a_region_in_a_function_needs_what_the_rest_of_the_function_reads():
    cell = code(
        "def train(model, loader):\n"
        "    for epoch in range(2):\n"
        "        window_loss, window_count = 0.0, 0\n"
        "        for X, y in loader:\n"
        "            # live-start: the training steps\n"
        "            loss = step(model, X, y)\n"
        "            window_loss += loss\n"
        "            window_count += len(y)\n"
        "            # live-end\n"
        "        print(window_loss / window_count)\n"
    )
    needs = blank_needs(notebook(cell))[0]
    assert needs.blank.scope == "function" and needs.blank.owner == "train"
    assert set(needs.makes) == {"loss", "window_loss", "window_count"}
    assert sorted(need.name for need in needs.needed) == ["window_count", "window_loss"]
    [(cell_index, message)] = needs_problems(notebook(cell))
    assert cell_index == 0
    assert "blank 1 (inside train) makes names that later code reads" in message
    assert '"— later lines use: window_loss, window_count"' in message or \
           '"— later lines use: window_count, window_loss"' in message


def test_a_region_in_a_function_with_a_complete_hint_passes():
    cell = code("def f(x):\n    # live-start: double x — later lines use: y\n    y = 2 * x\n    # live-end\n    return y")
    assert needs_problems(notebook(cell)) == []


# ----------------------------------------------------------------------------- the messages


def test_a_hint_that_leaves_out_a_needed_name_is_reported_with_the_cells():
    nb = notebook(md("# T"), blank("model = 1\nscores = 2", "# make the model — later cells use: model"),
                  code("print(scores)"))
    [(cell_index, message)] = needs_problems(nb)
    assert cell_index == 1
    assert message.startswith("blank 1 makes names that later code reads, but its hint does not list them: "
                              "scores (cell 3).")
    assert 'End the hint with "— later cells use: model, scores"' in message


def test_a_hint_that_lists_what_the_blank_does_not_make_is_reported():
    nb = notebook(blank("model = 1", "# later cells use: model, modle"), code("print(model)"))
    [(_, message)] = needs_problems(nb)
    assert "the hint lists modle, but the blank's code does not make it; the blank makes: model" in message


def test_a_probe_in_the_hint_stands_for_its_function():
    nb = notebook(blank("def f(a):\n    return a", "# write f — later cells use: f(2)"), code("f(3)"))
    assert needs_problems(nb) == []


def test_an_unreadable_list_is_reported():
    nb = notebook(blank("x = 1", "# later cells use: the x"), code("x"))
    [(_, message)] = needs_problems(nb)
    assert "should be names separated by commas" in message
