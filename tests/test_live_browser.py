"""The classroom round trip of a live twin, as a new user does it: JupyterLab 4 in headless Chromium.

An instructor opens ``notebooks/live/03-logistic-regression-live.ipynb`` in JupyterLab (a copy in a
temporary course folder: nothing in the repository changes) and

1. saves it untouched: ``--check`` still finds it up to date (JupyterLab keeps the tool's stamp);
2. runs the cells down to the first blank, which stops with its sentence -- no red traceback through
   ``placeholders.py``;
3. catches up on that blank in a new cell (``cu.catch_up``): JupyterLab replaces the cell's text by
   the lecture's code, and the check after the blank says ✓;
4. writes blanks 2 and 3 in class and runs them: ✓ twice;
5. saves. ``make live-check`` then says the twin holds work (not "stale"), ``python -m course_tools.live``
   leaves it byte for byte as it is, and only ``--replace-work`` replaces it, after a copy to
   ``class-work/`` that holds the class's code.

Screenshots go to tests/browser-screenshots/ (git-ignored). Skipped without chromium, chromedriver
or selenium, like tests/test_browser.py, whose helpers it uses.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab_server import running_lab  # tests/ is on sys.path

pytestmark = pytest.mark.slow
browser_test = pytest.importorskip("test_browser")   # skips (saying why) without chromium / selenium
PANEL, screenshot, wait_until = browser_test.PANEL, browser_test.screenshot, browser_test.wait_until

REPO = Path(__file__).resolve().parents[1]
STEM = "03-logistic-regression"
TWIN = f"notebooks/live/{STEM}-live.ipynb"


def tool(root: Path, *arguments: str) -> subprocess.CompletedProcess:
    """``python -m course_tools.live`` on the temporary course, as an instructor runs it."""
    return subprocess.run(
        [sys.executable, "-m", "course_tools.live", *arguments, "--notebooks", str(root / "notebooks"),
         "--config", str(root / "pyproject.toml"), "--data", str(root / "live-data")],
        capture_output=True, text=True, cwd=REPO, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A course folder with lecture 03, its twin and its solutions and checks, as the repository has them."""
    root = tmp_path_factory.mktemp("classroom") / "course"
    (root / "notebooks" / "live").mkdir(parents=True)
    shutil.copy2(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copy2(REPO / "notebooks" / f"{STEM}.ipynb", root / "notebooks")
    shutil.copy2(REPO / TWIN, root / TWIN)
    for kind in ("solutions", "checks"):
        (root / "live-data" / kind).mkdir(parents=True)
        shutil.copy2(REPO / "course_utils" / "live" / "data" / kind / f"{STEM}.json", root / "live-data" / kind)
    done = tool(root, "--check")
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture(scope="module")
def lab(course: Path):
    env = {key: value for key, value in os.environ.items() if key != "COURSE_LIVE_OUTPUT"}
    env.update(COURSE_FAST="1", COURSE_DATA_DIR=str(REPO / "data"), OMP_NUM_THREADS="1",
               COURSE_LIVE_DATA=str(course / "live-data"))
    settings = {"@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
                "@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}}
    with running_lab(course, env, expose_app=True, user_settings=settings) as server:
        yield server


@pytest.fixture(scope="module")
def driver(lab, tmp_path_factory: pytest.TempPathFactory):
    webdriver = browser_test.webdriver
    options = webdriver.ChromeOptions()
    options.binary_location = str(browser_test.CHROMIUM)
    for flag in browser_test.CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")   # a fresh profile
    service = webdriver.ChromeService(executable_path=str(browser_test.CHROMEDRIVER))
    browser = webdriver.Chrome(service=service, options=options)
    try:
        yield browser
    finally:
        try:
            browser.quit()
        finally:
            service.stop()


def open_twin(driver, lab) -> None:
    driver.get(f"{lab.url}lab/tree/{TWIN}?token={lab.token}")
    wait_until(driver, lambda: driver.execute_script("""
        const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
        return !!(panel && panel.context && panel.context.isReady && panel.sessionContext.session
                  && panel.sessionContext.session.kernel && panel.sessionContext.session.kernel.status === 'idle');
        """), 180, "the live twin is open with an idle kernel")


def save(driver) -> None:
    driver.execute_script("return window.jupyterapp.commands.execute('docmanager:save');")
    wait_until(driver, lambda: not driver.execute_script(PANEL + "return panel.context.model.dirty;"), 60, "saved")


def run_cell(driver, index: int, timeout: float = 600) -> dict:
    """Run cell ``index`` as Shift+Enter would; return its outputs (JSON) and the text the page shows for them."""
    driver.execute_script(PANEL + """panel.content.activeCellIndex = arguments[0];
        panel.content.widgets[arguments[0]].model.sharedModel.setSource(
            panel.content.widgets[arguments[0]].model.sharedModel.getSource());""", index)
    count_before = driver.execute_script(PANEL + "return panel.content.widgets[arguments[0]].model.executionCount;",
                                         index)
    driver.execute_script("window.jupyterapp.commands.execute('notebook:run-cell');")

    def ran():
        return driver.execute_script(PANEL + """const cell = panel.content.widgets[arguments[0]];
            const kernel = panel.sessionContext.session.kernel;
            return cell.model.executionCount !== null && cell.model.executionCount !== arguments[1]
                   && kernel.status === 'idle';""", index, count_before)

    wait_until(driver, ran, timeout, f"cell {index + 1} has run")
    time.sleep(0.5)                                             # the last outputs arrive with the idle status
    return driver.execute_script(PANEL + """const cell = panel.content.widgets[arguments[0]];
        const area = cell.node.querySelector('.jp-OutputArea');
        return {outputs: cell.model.outputs.toJSON(), text: area ? area.innerText : '',
                source: cell.model.sharedModel.getSource()};""", index)


def index_of(driver, text: str) -> int:
    return browser_test.cell_index(driver, text)


def test_the_classroom_round_trip_in_jupyterlab(course, lab, driver):
    twin = course / TWIN
    open_twin(driver, lab)
    save(driver)                                                     # 1. opened and saved, nothing run
    assert tool(course, "--check").returncode == 0, "a twin JupyterLab only opened and saved must not hold work"

    first_blank = index_of(driver, f'cu.blank("{STEM}", 1)')
    for index in range(first_blank):                                 # 2. run down to the first blank
        if driver.execute_script(PANEL + "return panel.content.widgets[arguments[0]].model.type;", index) == "code":
            result = run_cell(driver, index)
            errors = [o for o in result["outputs"] if o["output_type"] == "error"]
            assert not errors, f"cell {index + 1}: {errors}"
    stopped = run_cell(driver, first_blank)
    screenshot(driver, "live-03-blank-1-unfilled", browser_test.cell_node(driver, first_blank))
    [error] = [o for o in stopped["outputs"] if o["output_type"] == "error"]
    assert error["ename"] == "BlankNotFilled" and len(error["traceback"]) == 1
    assert f"blank 1 of {STEM} is not filled in" in stopped["text"]
    assert "placeholders.py" not in stopped["text"] and "Traceback" not in stopped["text"]

    # 3. catch up in a new cell: JupyterLab replaces its text by the lecture's code
    driver.execute_script(PANEL + "panel.content.activeCellIndex = arguments[0];", first_blank)
    driver.execute_script("window.jupyterapp.commands.execute('notebook:insert-cell-below');")
    driver.execute_script(PANEL + "panel.content.activeCell.model.sharedModel.setSource(arguments[0]);",
                          f'cu.catch_up("{STEM}", 1)')
    caught = run_cell(driver, first_blank + 1)
    wait_until(driver, lambda: driver.execute_script(
        PANEL + "return panel.content.widgets[arguments[0]].model.sharedModel.getSource();", first_blank + 1)
        .startswith(f"# blank 1 of {STEM}, as the lecture writes it"), 30, "the catch-up cell shows the lecture's code")
    assert "now replaces the code of this cell" in caught["text"]
    check = run_cell(driver, index_of(driver, f'cu.check("{STEM}", 1)'))
    assert f"✓ blank 1 of {STEM}" in check["text"], check["text"]
    for index in range(index_of(driver, f'cu.check("{STEM}", 1)') + 1, index_of(driver, f'cu.blank("{STEM}", 2)')):
        if driver.execute_script(PANEL + "return panel.content.widgets[arguments[0]].model.type;", index) == "code":
            run_cell(driver, index)

    # 4. blanks 2 and 3 written in class
    cell = index_of(driver, f'cu.blank("{STEM}", 2)')
    driver.execute_script(PANEL + """const model = panel.content.widgets[arguments[0]].model.sharedModel;
        model.setSource(model.getSource()
            .replace('cu.blank("03-logistic-regression", 2)', 'p = exp_s / exp_s.sum()')
            .replace('cu.blank("03-logistic-regression", 3)', 'by_hand = -torch.log(p[true_class])'));""", cell)
    written = run_cell(driver, cell)
    screenshot(driver, "live-03-blanks-2-3-written", browser_test.cell_node(driver, cell))
    assert f"✓ blank 2 of {STEM}" in written["text"] and f"✓ blank 3 of {STEM}" in written["text"], written["text"]
    save(driver)

    # 5. the instructor's tool after class
    work = twin.read_bytes()
    checked = tool(course, "--check")
    assert checked.returncode == 1
    assert "holds work done in it (" in checked.stderr and "it is not stale" in checked.stderr, checked.stderr
    assert "is stale" not in checked.stderr
    written_again = tool(course)
    assert written_again.returncode == 1 and twin.read_bytes() == work, "the class's work must stay"
    replaced = tool(course, "--replace-work")
    assert replaced.returncode == 0, replaced.stderr
    [kept] = (course / "class-work").glob(f"{STEM}-live-*.ipynb")
    assert kept.read_bytes() == work and "p = exp_s / exp_s.sum()" in kept.read_text()
    assert "p = exp_s / exp_s.sum()" not in twin.read_text()
    print(checked.stderr.strip(), replaced.stdout.strip(), sep="\n")
