"""Lectures 05 and 06 in a real browser: JupyterLab 4 in headless Chromium, driven by Selenium.

The test copies the two lectures to a temporary folder (nothing in the
repository changes), starts JupyterLab there on 127.0.0.1 with a token, opens
each lecture in Debian's chromium, runs all cells in fast mode and checks:

- no cell has an error output;
- every widget rendered: each widget output is drawn by the widget manager
  (its DOM is there), not "Error displaying widget" and not the text fallback;
- choosing another preset in the kernel explorer changes the drawn picture;
- moving the activation browser's image slider changes the feature maps;
- saved (File → Save), the notebook keeps the pictures last drawn, and a
  readable line of text in place of the controls (what GitHub and nbviewer show).

Screenshots go to tests/browser-screenshots/ (git-ignored). The server and the
browser are stopped even when the test fails. Without chromium, chromedriver or
selenium the test is skipped, saying which is missing.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from lab_server import running_lab  # tests/ is on sys.path

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / "tests" / "browser-screenshots"
CHROMIUM = Path(os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("COURSE_CHROMEDRIVER", "/usr/bin/chromedriver"))
LECTURES = ["05-convolution.ipynb", "06-activations-and-features.ipynb"]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"   # (JupyterLab does not mark its outputs with it)
RUN_TIMEOUT = 900   # seconds for "run all" of one lecture in fast mode on a slow, busy machine
pytestmark = pytest.mark.slow   # JupyterLab in headless Chromium runs two lectures

missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
if missing:
    pytest.skip(f"the browser test needs Debian's chromium and chromium-driver; missing: {', '.join(missing)} "
                "(apt-get install chromium chromium-driver)", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="the browser test needs selenium (pip install selenium)")
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1400,1000"]

# JavaScript run in the page: JupyterLab's notebook now open (window.jupyterapp, see expose_app_in_browser).
PANEL = "const panel = window.jupyterapp.shell.currentWidget;"
NOTEBOOK_STATE = PANEL + """
const cells = panel.content.widgets;
const code = cells.filter(c => c.model.type === 'code');
const errors = [];
code.forEach(c => c.model.outputs.toJSON().forEach(o => {
    if (o.output_type === 'error') errors.push(cells.indexOf(c) + 1 + ': ' + o.ename + ': ' + o.evalue);
}));
const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
return {kernel: kernel ? kernel.status : 'none', errors: errors, total: code.length,
        run: code.filter(c => c.model.executionCount !== null).length,
        done: code.filter(c => c.model.executionCount !== null && c.model.executionState !== 'running').length};
"""


def cell_index(driver, text: str) -> int:
    """The index of the first cell whose source contains ``text``."""
    index = driver.execute_script(PANEL + """
        return panel.content.widgets.findIndex(c => c.model.sharedModel.getSource().includes(arguments[0]));""", text)
    assert index >= 0, f"no cell contains {text!r}"
    return index


def cell_node(driver, index: int):
    driver.execute_script(PANEL + "panel.content.widgets[arguments[0]].node.scrollIntoView();", index)
    return driver.execute_script(PANEL + "return panel.content.widgets[arguments[0]].node;", index)


def pictures(node) -> list[str]:
    """The data of every picture (PNG) in a cell's output area, in order.

    (Read in one step in the page: a picture replaced in place is a new element, and an element
    found a moment earlier would be stale.)
    """
    return node.parent.execute_script("""return Array.from(
        arguments[0].querySelectorAll('.jp-OutputArea-output img')).map(img => img.getAttribute('src'));""", node)


def wait_until(driver, condition, timeout: float, what: str):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.5,   # outputs re-render while we look
                             ignored_exceptions=(StaleElementReferenceException,)).until(lambda d: condition())
    except TimeoutException:
        screenshot(driver, "failure")
        raise AssertionError(f"timed out after {timeout} s waiting until {what}") from None


def screenshot(driver, name: str, node=None) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    (node.screenshot if node is not None else driver.save_screenshot)(str(path))
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("browser") / "course"
    (root / "notebooks").mkdir(parents=True)
    for name in LECTURES:
        shutil.copy2(REPO / "notebooks" / name, root / "notebooks" / name)
    env = {key: value for key, value in os.environ.items() if key != "COURSE_LIVE_OUTPUT"}   # as a user has it
    env.update(COURSE_FAST="1", COURSE_SYNTHETIC_FALLBACK="1", COURSE_DATA_DIR=str(REPO / "data"),
               OMP_NUM_THREADS="1")
    # Draw every cell (no virtual scrolling), so that every output is in the page to check.
    # No "get notified about Jupyter news?" pop-up (it would cover part of the screenshots).
    settings = {"@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
                "@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}}
    with running_lab(root, env, expose_app=True, user_settings=settings) as server:
        server.root = root
        yield server


@pytest.fixture(scope="module")
def browser(lab, tmp_path_factory: pytest.TempPathFactory):
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")   # a fresh profile
    service = webdriver.ChromeService(executable_path=str(CHROMEDRIVER))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        try:
            driver.quit()
        finally:
            service.stop()   # chromedriver itself, also when quitting the browser failed


def open_and_run_all(driver, lab, name: str) -> None:
    """Open a lecture, run all its cells, wait until every one has run; fail on the first error output."""
    driver.get(f"{lab.url}lab/tree/notebooks/{name}?token={lab.token}")
    wait_until(driver, lambda: driver.execute_script("""
        const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
        return !!(panel && panel.context && panel.context.isReady && panel.sessionContext.session
                  && panel.sessionContext.session.kernel && panel.sessionContext.session.kernel.status === 'idle');
        """), 180, f"{name} is open with an idle kernel")
    # Start from a clean slate, so that "every cell has an execution count" means "ran now".
    # (The commands are started, not awaited: the test polls, and stops at the first error.)
    driver.execute_script("window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs');")
    wait_until(driver, lambda: driver.execute_script(NOTEBOOK_STATE)["run"] == 0, 30, f"{name}'s outputs are cleared")
    started = time.monotonic()
    driver.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells');")

    def finished():
        state = driver.execute_script(NOTEBOOK_STATE)
        if state["errors"]:
            screenshot(driver, f"{name[:2]}-error")
            raise AssertionError(f"{name}: error output(s) in cell(s): {state['errors']}")
        return state["kernel"] == "idle" and state["done"] == state["total"]

    wait_until(driver, finished, RUN_TIMEOUT, f"every cell of {name} has run")
    print(f"{name}: all cells ran in {time.monotonic() - started:.0f} s")


def check_widgets_rendered(driver, name: str) -> int:
    """Every widget output is drawn by the widget manager; returns how many there are."""
    expected = driver.execute_script(PANEL + """
        let n = 0;
        panel.content.widgets.forEach(c => { if (c.model.type === 'code') c.model.outputs.toJSON().forEach(o => {
            if (o.data && o.data[arguments[0]]) n += 1; }); });
        return n;""", WIDGET_VIEW)

    def all_drawn():   # an output the widget manager drew holds the widget's .jupyter-widgets element
        drawn = driver.execute_script(PANEL + """return panel.node.querySelectorAll(
            '.jp-OutputArea-output > .jupyter-widgets').length;""")
        return drawn == expected

    wait_until(driver, all_drawn, 60, f"all {expected} widget outputs of {name} are drawn")
    text, plain = driver.execute_script(PANEL + """const node = panel.content.node;
        return [node.innerText, Array.from(node.querySelectorAll('[data-mime-type="text/plain"]')).map(o => o.innerText)];""")
    assert "Error displaying widget" not in text, f"{name}: a widget failed to display"
    fallbacks = [t[:80] for t in plain if t.startswith(("[Kernel explorer", "[Activation browser"))]
    assert not fallbacks, f"{name}: widgets shown as their text fallback instead: {fallbacks}"
    return expected


def save_and_read(driver, lab, name: str, index: int) -> dict:
    """Save the notebook (File → Save) and return cell ``index`` as it is now on disk."""
    driver.execute_script("return window.jupyterapp.commands.execute('docmanager:save');")   # awaited
    wait_until(driver, lambda: not driver.execute_script(PANEL + "return panel.context.model.dirty;"), 60,
               f"{name} is saved")
    return nbformat.read(lab.root / "notebooks" / name, as_version=4).cells[index]


def check_saved_pictures(saved_cell, shown: list[str], words: str) -> None:
    """A saved notebook keeps the last pictures drawn, and a readable line in place of the controls."""
    saved = [output.data["image/png"].replace("\n", "") for output in saved_cell.outputs
             if "image/png" in output.get("data", {})]
    assert saved == [src.split(",", 1)[1] for src in shown], "the saved notebook keeps the pictures last drawn"
    texts = [output.data.get("text/plain", "") for output in saved_cell.outputs
             if WIDGET_VIEW in output.get("data", {})]
    assert len(texts) == 1 and texts[0].startswith(words), texts


def test_kernel_explorer_in_jupyterlab(lab, browser) -> None:
    open_and_run_all(browser, lab, LECTURES[0])
    assert check_widgets_rendered(browser, LECTURES[0]) >= 1
    index = cell_index(browser, "cu.widgets.KernelExplorer(")
    node = cell_node(browser, index)
    dropdowns = node.find_elements(By.CSS_SELECTOR, ".widget-dropdown select")
    numbers = node.find_elements(By.CSS_SELECTOR, ".widget-text input")
    assert len(dropdowns) == 2 and len(numbers) == 9, "a kernel and an image dropdown, and 3×3 number boxes"
    assert Select(dropdowns[0]).first_selected_option.text == "identity"
    before = pictures(node)
    assert len(before) == 1 and before[0].startswith("data:image/png"), "one picture below the controls"
    screenshot(browser, "05-kernel-explorer-identity", node)

    Select(dropdowns[0]).select_by_visible_text("box blur")
    wait_until(browser, lambda: pictures(cell_node(browser, index)) not in ([], before), 60,
               "the kernel explorer's picture changes after choosing 'box blur'")
    node = cell_node(browser, index)
    assert [box.get_attribute("value")[:5] for box in node.find_elements(By.CSS_SELECTOR, ".widget-text input")] \
        == ["0.111"] * 9, "the number boxes show the box blur's weights"
    assert len(pictures(node)) == 1, "the picture is replaced in place, not added"
    screenshot(browser, "05-kernel-explorer-box-blur", node)

    Select(node.find_elements(By.CSS_SELECTOR, ".widget-dropdown select")[1]).select_by_visible_text("full size")
    previous = pictures(node)
    wait_until(browser, lambda: pictures(cell_node(browser, index)) not in ([], previous), 60,
               "the picture changes after choosing the full-size image")
    screenshot(browser, "05-kernel-explorer-full-size", cell_node(browser, index))
    check_saved_pictures(save_and_read(browser, lab, LECTURES[0], index), pictures(cell_node(browser, index)),
                         "[Kernel explorer")


def test_activation_browser_in_jupyterlab(lab, browser) -> None:
    open_and_run_all(browser, lab, LECTURES[1])
    assert check_widgets_rendered(browser, LECTURES[1]) >= 1
    index = cell_index(browser, "cu.widgets.ActivationBrowser(")
    node = cell_node(browser, index)
    assert node.find_elements(By.CSS_SELECTOR, ".widget-slider"), "the image slider is drawn"
    layer = Select(node.find_element(By.CSS_SELECTOR, ".widget-dropdown select"))
    assert [o.text for o in layer.options] == ["conv1", "conv2", "conv3"]
    before = pictures(node)
    assert len(before) == 2, "the image with its classes, then the feature maps"
    screenshot(browser, "06-activation-browser-first-image", node)

    handle = node.find_element(By.CSS_SELECTOR, ".widget-slider .noUi-handle, .widget-slider .ui-slider-handle")
    start = node.find_element(By.CSS_SELECTOR, ".widget-readout").text
    handle.send_keys(Keys.ARROW_RIGHT)   # one image further, as a user does with the keyboard
    wait_until(browser, lambda: node.find_element(By.CSS_SELECTOR, ".widget-readout").text != start, 30,
               "the slider moves")
    wait_until(browser, lambda: len(pictures(cell_node(browser, index))) == 2
               and pictures(cell_node(browser, index))[1] != before[1], 120,
               "the feature maps change after moving the image slider")
    after = pictures(cell_node(browser, index))
    assert after[0] != before[0], "the image (and its caption) changes too"
    screenshot(browser, "06-activation-browser-next-image", cell_node(browser, index))

    layer = Select(cell_node(browser, index).find_element(By.CSS_SELECTOR, ".widget-dropdown select"))
    layer.select_by_visible_text("conv3")
    wait_until(browser, lambda: pictures(cell_node(browser, index))[1:] not in ([], after[1:]), 120,
               "the feature maps change after choosing conv3")
    screenshot(browser, "06-activation-browser-conv3", cell_node(browser, index))
    check_saved_pictures(save_and_read(browser, lab, LECTURES[1], index), pictures(cell_node(browser, index)),
                         "[Activation browser")
