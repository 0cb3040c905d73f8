#!/usr/bin/env python
"""Real-browser check of the lstmlab widget notebooks (`make test-browser`).

Starts JupyterLab on localhost, drives Debian's chromium (/usr/bin/chromium) with Playwright, and for
each notebook: clears its outputs, runs all cells from the Run menu, waits for the kernel to go idle,
and checks that

  (a) no output shows an error (a traceback, "Error displaying widget", a failed render), and the
      kernel's log has no traceback either (errors in widget callbacks end up there);
  (b) plotly figures rendered: `.js-plotly-plot` elements with an SVG and at least one trace;
  (c) ipywidgets rendered: every app (a widget output of a cell) shows controls and a figure;
  (d) moving a control redraws a figure: in each app the first slider is moved one step with the
      keyboard (or, without a slider, the first dropdown is set to its next option) and the data of
      the app's plotly figures (`el.data`) must change; if that control changes nothing, the next
      two controls are tried before the app fails;
  (e) in an app that builds networks (the designer), adding an LSTM layer from the palette and
      setting its num_hidden_units redraws the diagram and changes the analysis
      (screenshot `<notebook-stem>-<n>-edited.png`).

It saves PNG screenshots into docs/screenshots/: `<notebook-stem>-<n>.png` for the n-th app (its whole
widget output, before any control moved) and `<notebook-stem>-notebook.png` for the whole notebook.

Usage:  .venv/bin/python tests/browser/check.py [NOTEBOOK.ipynb ...] [--out DIR] [--timeout S]
Without notebooks it checks every notebooks/*.ipynb that calls an app of lstmlab.widgets. Notebooks outside the
repository work too (JupyterLab is then served from their common folder). The notebook files are never
written: autosave is off, and a notebook that JupyterLab saved anyway is restored and reported.

Prints one PASS/FAIL line per notebook and 'N passed, M failed'; exits 1 on any failure, 2 when it
could not run (no chromium, no notebook, JupyterLab did not start), 3 on the overall timeout.
"""

import argparse
import ast
import hashlib
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# This machine's network is closed: without the background-networking flags chromium keeps trying
# (and failing) to reach Google's hosts.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
VIEWPORT = {"width": 1280, "height": 900}
FAILED_DIR = REPO / "build" / "browser-check"  # the page when a notebook fails (build/ is not kept in git)
MAX_SHOT_HEIGHT = 15000  # chromium's largest capture is about 16k pixels high

# JupyterLab settings for the check (overrides.json in a temporary app-settings folder):
LAB_SETTINGS = {
    # JupyterLab >= 4.2 attaches only cells near the viewport: attach them all, so every output is checked.
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    # Never write the notebook: running it in the browser must leave the file as it was.
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
    # No news or update toasts over the notebook (and no requests to the internet).
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}
APPS = ("bilstm_explorer", "cell_playground", "explore", "normalization_explorer", "padding_explorer")  # if __all__ is unreadable
ERROR_PATTERNS = [r"Traceback \(most recent call last\)", r"Error displaying widget", r"Failed to (load|create) (model|view)",
                  r"Error rendering output", r"Javascript Error", r"Could not render content", r"Model not found"]

# --- JavaScript run in the page -------------------------------------------------------------------------

JS_STATE = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return null;
  const cells = Array.from(panel.querySelectorAll('.jp-Notebook .jp-CodeCell'));
  const prompts = cells.map(c => { const p = c.querySelector('.jp-InputPrompt'); return p ? p.textContent.trim() : ''; });
  const ind = panel.querySelector('.jp-Notebook-ExecutionIndicator');
  const plots = Array.from(panel.querySelectorAll('.js-plotly-plot'));
  // The status bar's "Python 3 (ipykernel) | Idle": the toolbar indicator says idle before a kernel exists.
  let kernel = null;
  document.querySelectorAll('.jp-StatusBar-TextItem').forEach(e => {
    const m = (e.textContent || '').trim().match(/^(.+) \| (\w+)$/);
    if (m && !kernel) kernel = {name: m[1], status: m[2].toLowerCase()};
  });
  return {
    kernel,
    status: ind ? ind.getAttribute('data-status') : null,
    prompts,
    plots: plots.length,
    drawn: plots.filter(p => p.querySelector('svg.main-svg') && Array.isArray(p.data) && p.data.length > 0).length,
    widgets: panel.querySelectorAll('.jp-Notebook .jupyter-widgets').length,
    dialog: !!document.querySelector('.jp-Dialog'),
  };
}"""

JS_ERRORS = """(patterns) => {
  const res = patterns.map(p => new RegExp(p));
  const found = [];
  document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-OutputArea-output').forEach(o => {
    if (o.querySelector('.jp-OutputArea-output')) return;  // report the innermost output only
    const t = o.innerText || '';
    if (res.some(r => r.test(t))) found.push(t.trim().slice(0, 1500));
  });
  return Array.from(new Set(found));
}"""

JS_STDERR = """() => Array.from(document.querySelectorAll(
  '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
  .filter(o => !o.querySelector('.jp-OutputArea-output')).map(o => (o.innerText || '').trim().slice(0, 300))"""

# An app is a widget output of a cell (not a widget nested in another widget): tag each one.
JS_TAG_APPS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const cells = Array.from(panel.querySelectorAll('.jp-Notebook .jp-Cell'));
  const apps = [];
  panel.querySelectorAll('.jp-Notebook .jp-OutputArea-output').forEach(o => {
    if (o.parentElement.closest('.jupyter-widgets')) return;
    if (!o.querySelector(':scope > .jupyter-widgets, :scope > * > .jupyter-widgets')) return;
    if (o.querySelector('.lstmlab-quiz')) return;  // a question, not an app
    apps.push(o);
  });
  return apps.map((o, i) => {
    o.setAttribute('data-browsercheck-app', String(i + 1));
    const controls = Array.from(o.querySelectorAll('.widget-slider, .widget-dropdown'));
    const sliders = controls.filter(c => c.classList.contains('widget-slider') && c.querySelector('.noUi-handle'));
    const dropdowns = controls.filter(c => c.classList.contains('widget-dropdown') && c.querySelector('select'));
    [...sliders, ...dropdowns].forEach((c, j) => c.setAttribute('data-browsercheck-control', i + 1 + '-' + j));
    const plots = Array.from(o.querySelectorAll('.js-plotly-plot'));
    const cell = o.closest('.jp-Cell');
    return {
      app: i + 1,
      cell: cells.indexOf(cell) + 1,
      controls: sliders.length + dropdowns.length,
      sliders: sliders.length,
      dropdowns: dropdowns.length,
      plots: plots.length,
      drawn: plots.filter(p => p.querySelector('svg.main-svg') && Array.isArray(p.data) && p.data.length > 0).length,
      height: o.getBoundingClientRect().height,
    };
  });
}"""

JS_APP_FIGURES = """(n) => {
  const app = document.querySelector('[data-browsercheck-app="' + n + '"]');
  if (!app) return null;
  const plots = Array.from(app.querySelectorAll('.js-plotly-plot'));
  if (!plots.length || plots.some(p => !p.querySelector('svg.main-svg') || !Array.isArray(p.data))) return null;
  return JSON.stringify(plots.map(p => p.data));
}"""

JS_CONTROL_STATE = """(el) => {
  const label = el.querySelector('.widget-label');
  const readout = el.querySelector('.widget-readout');
  const select = el.querySelector('select');
  return {label: label ? label.textContent.trim() : '',
          value: select ? select.value : (readout ? readout.textContent.trim() : '')};
}"""

JS_NOTEBOOK_HEIGHT = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const scroller = panel.querySelector('.jp-WindowedPanel-outer') || panel.querySelector('.jp-Notebook');
  scroller.scrollTop = 0;
  const cells = panel.querySelectorAll('.jp-Notebook .jp-Cell');
  return {content: scroller.scrollHeight, visible: scroller.clientHeight,
          bottom: cells.length ? cells[cells.length - 1].getBoundingClientRect().bottom : 0};
}"""

# For the screenshots: no floating cell toolbar, no highlight of the active cell.
SCREENSHOT_CSS = """
.jp-cell-toolbar { display: none !important; }
.jp-Notebook .jp-Cell.jp-mod-active .jp-Collapser { background: transparent !important; }
.jp-Notebook.jp-mod-commandMode .jp-Cell.jp-mod-active.jp-mod-selected:not(.jp-mod-multiSelected),
.jp-Notebook .jp-Cell.jp-mod-selected { background: transparent !important; border-color: transparent !important; }
.jp-Notebook .jp-Cell, .jp-Notebook .jp-Cell:focus, .jp-Notebook .jp-Cell:focus-visible { outline: none !important; box-shadow: none !important; }
"""


# --- helpers -------------------------------------------------------------------------------------------


class CheckError(Exception):
    """One notebook failed a check."""


def browser_missing(target):
    """Why Chromium and Playwright cannot run here, naming the make target that installs them; None if they can."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} not found (make {target} installs Debian's chromium)"
    if importlib.util.find_spec("playwright") is None:
        return f"playwright is not installed in this Python (make {target} installs it)"
    return None


def log(msg):
    print(msg, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid):
    """All processes below pid (from /proc), deepest last."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_descendants():
    """Last resort: SIGKILL everything this script started (jupyter, kernels, playwright, chromium)."""
    pids = descendants(os.getpid())
    for pid in reversed(pids):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


def app_names():
    """The apps lstmlab.widgets exports (its __all__, read without importing lstmlab and torch)."""
    try:
        tree = ast.parse((REPO / "lstmlab" / "widgets" / "__init__.py").read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
                return tuple(name for name in ast.literal_eval(node.value) if name != "quiz")  # a question, not an app
    except (OSError, SyntaxError, ValueError):
        pass
    return APPS


def widget_notebooks():
    """notebooks/*.ipynb whose code calls an app of lstmlab.widgets (importing it is not enough)."""
    calls = re.compile(r"\b(%s)\s*\(" % "|".join(map(re.escape, app_names())))
    found = []
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        try:
            cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            continue
        code = "\n".join("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "code")
        if "widgets" in code and calls.search(code):
            found.append(path)
    return found


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Lab:
    """JupyterLab on localhost, with its own settings, workspaces and checkpoints in a temporary folder."""

    def __init__(self, root, tmp, timeout):
        self.root, self.tmp = Path(root), Path(tmp)
        self.port, self.token = free_port(), os.urandom(16).hex()
        self.url = f"http://127.0.0.1:{self.port}"
        settings = self.tmp / "app-settings"
        settings.mkdir()
        (settings / "overrides.json").write_text(json.dumps(LAB_SETTINGS, indent=1))
        for name in ("user-settings", "workspaces", "checkpoints", "runtime", "config"):
            (self.tmp / name).mkdir()
        self.log_path = self.tmp / "jupyter.log"
        cmd = [sys.executable, "-m", "jupyterlab",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
               "--ServerApp.open_browser=False", "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
               f"--LabApp.app_settings_dir={settings}", f"--LabApp.user_settings_dir={self.tmp / 'user-settings'}",
               f"--LabApp.workspaces_dir={self.tmp / 'workspaces'}",
               f"--FileCheckpoints.checkpoint_dir={self.tmp / 'checkpoints'}"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(self.tmp / "runtime"), JUPYTER_CONFIG_DIR=str(self.tmp / "config"),
                   PYTHONUNBUFFERED="1")
        env.pop("VSCODE_PID", None)  # would switch plotly's renderer in the kernel
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                     cwd=self.root)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with self.api("GET", "/api/status", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not answer on {self.url} in {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.3)

    def api(self, method, path, timeout=10):
        req = urllib.request.Request(self.url + path, method=method, headers={"Authorization": f"token {self.token}"})
        return urllib.request.urlopen(req, timeout=timeout)

    def notebook_url(self, path):
        rel = Path(path).resolve().relative_to(self.root).as_posix()
        return f"{self.url}/lab/tree/{urllib.parse.quote(rel)}?reset&token={self.token}"

    def log_text(self, start=0):
        self.log_file.flush()
        return self.log_path.read_bytes()[start:].decode("utf-8", "replace")

    def log_size(self):
        self.log_file.flush()
        return self.log_path.stat().st_size

    def log_tail(self, n=40):
        return "\n".join(self.log_text().splitlines()[-n:])

    def saved_files(self):
        """The files the server saved (jupyter_server logs 'Saving file at /path')."""
        if not self.log_path.exists():
            return set()
        paths = re.findall(r"Saving file at (/\S+)", self.log_path.read_text(encoding="utf-8", errors="replace"))
        return {(self.root / p.lstrip("/")).resolve() for p in paths}

    def shutdown_kernels(self):
        try:
            with self.api("GET", "/api/kernels") as r:
                kernels = json.load(r)
            for k in kernels:
                self.api("DELETE", f"/api/kernels/{k['id']}", timeout=15).close()
        except OSError:
            pass

    def stop(self):
        if self.proc.poll() is None:
            self.shutdown_kernels()
            try:
                self.api("POST", "/api/shutdown", timeout=5).close()
            except OSError:
                pass
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        self.log_file.close()


# --- the check of one notebook -------------------------------------------------------------------------


def wait_until(page, what, predicate, timeout, interval=0.5):
    """Poll predicate() (which may use the page) until it returns a true value; that value is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise CheckError(f"timed out after {timeout:.0f} s waiting for {what}")
        page.wait_for_timeout(interval * 1000)


def menu(page, top, item):
    """Click a JupyterLab main-menu entry, as a person would."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$")).click()
    page.locator(".lm-Menu-content .lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).first.click()


def kernel_idle(page):
    state = page.evaluate(JS_STATE)
    if not state:
        return None
    if state["dialog"]:  # e.g. "Select Kernel": accept the default
        page.locator(".jp-Dialog .jp-mod-accept").first.click()
        return None
    kernel = state["kernel"]
    if not kernel or kernel["name"] == "No Kernel" or kernel["status"] != "idle":
        return None
    if state["status"] != "idle" or any("*" in p for p in state["prompts"]):
        return None
    return state


def settled(page, timeout):
    """Wait (at most a minute) for the rendering to settle: the numbers of figures and widgets stop changing and
    every figure drew. Returns the last state either way; the checks that follow say what is missing."""
    last, since, state = None, time.monotonic(), None

    def stable():
        nonlocal last, since, state
        state = page.evaluate(JS_STATE)
        key = (state["plots"], state["drawn"], state["widgets"], state["status"])
        if key != last:
            last, since = key, time.monotonic()
            return None
        if state["plots"] == state["drawn"] and state["status"] == "idle" and time.monotonic() - since > 1.5:
            return state
        return None

    try:
        return wait_until(page, "the figures and widgets to finish rendering", stable, min(60.0, timeout), interval=0.3)
    except CheckError:
        return state


def move_control(page, app, control):
    """Move one control of app as a person would; return 'label: before -> after'."""
    el = page.locator(f'[data-browsercheck-control="{app}-{control}"]')
    el.scroll_into_view_if_needed()
    before = el.evaluate(JS_CONTROL_STATE)
    if el.locator(".noUi-handle").count():
        handle = el.locator(".noUi-handle").first
        handle.focus()
        handle.press("ArrowRight")
        page.wait_for_timeout(300)
        if el.evaluate(JS_CONTROL_STATE)["value"] == before["value"]:  # already at its maximum
            handle.press("ArrowLeft")
    else:
        select = el.locator("select")
        options = select.evaluate("s => Array.from(s.options).map(o => o.value)")
        if len(options) < 2:
            return None
        select.select_option(options[(options.index(before["value"]) + 1) % len(options)])
    page.wait_for_timeout(200)
    after = el.evaluate(JS_CONTROL_STATE)
    if after["value"] == before["value"]:
        return None
    return f"{before['label'] or 'control'}: {before['value']} -> {after['value']}"


def edit_designer(page, app, shot, left):
    """In an app with an "add after" button (the designer): add an LSTM layer from the palette, set
    its number of hidden units, and check that the diagram and the analysis follow; None for other apps."""
    root = page.locator(f'[data-browsercheck-app="{app}"]')
    add = root.locator("button", has_text="add after")
    if not add.count():
        return None
    analysis = lambda: root.evaluate("el => el.innerText")  # noqa: E731
    palette = root.locator(".widget-dropdown", has=page.locator(".widget-label", has_text="palette")).locator("select")
    palette.select_option("lstm_layer")
    page.wait_for_timeout(300)
    before, text_before = page.evaluate(JS_APP_FIGURES, app), analysis()
    add.first.click()
    wait_until(page, "the diagram to show the added layer", lambda: page.evaluate(JS_APP_FIGURES, app) not in (None, before), min(30.0, left()))
    settled(page, left())
    added = page.evaluate(JS_APP_FIGURES, app)
    label = "num_hidden_units"
    box = root.locator(".widget-text", has=page.locator(".widget-label", has_text=label)).locator("input")
    old = box.input_value()
    new = "64" if old != "64" else "32"
    box.fill(new)
    box.press("Enter")
    wait_until(page, f"the analysis to follow {label} = {new}", lambda: page.evaluate(JS_APP_FIGURES, app) not in (None, added), min(30.0, left()))
    settled(page, left())
    if analysis() == text_before:
        raise CheckError(f"app {app}: adding a layer and setting {label} = {new} left the analysis as it was")
    root.screenshot(path=shot)
    return f"added a layer, {label}: {old} -> {new}"


def check_notebook(page, lab, path, out, timeout):
    start = time.monotonic()
    deadline = start + timeout
    left = lambda: max(5.0, deadline - time.monotonic())  # noqa: E731
    stem = path.stem
    notes = []
    log_start = lab.log_size()

    page.goto(lab.notebook_url(path), wait_until="domcontentloaded", timeout=left() * 1000)
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=left() * 1000)
    # The file browser takes a third of the width: close the left side bar for the screenshots.
    page.wait_for_selector(".jp-SideBar.jp-mod-left .lm-TabBar-tab", timeout=left() * 1000)
    if page.locator("#jp-left-stack:not(.lm-mod-hidden)").count():
        page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()
    wait_until(page, "the kernel to start", lambda: kernel_idle(page), left())
    page.locator(".jp-Notebook .jp-Cell .jp-InputPrompt").first.click()  # the notebook, not the side bar, has focus

    # Outputs stored in the file would be mistaken for this run's: clear them, then run everything.
    menu(page, "Edit", "Clear Outputs of All Cells")
    t_run = time.monotonic()
    started = lambda: any(re.search(r"\[(\*|\d+)\]", p) for p in page.evaluate(JS_STATE)["prompts"])  # noqa: E731
    for attempt in range(2):
        menu(page, "Run", "Run All Cells")
        try:
            wait_until(page, "Run All Cells to start", started, min(15.0, left()), interval=0.1)
            break
        except CheckError:
            if attempt:
                raise
            notes.append("Run All Cells did not start the first time; clicked it again")
    state = wait_until(page, "all cells to run (kernel idle)", lambda: kernel_idle(page), left())
    state = settled(page, left())
    run_s = time.monotonic() - t_run

    # (a) errors in outputs
    errors = page.evaluate(JS_ERRORS, ERROR_PATTERNS)
    if errors:
        raise CheckError("an output shows an error:\n" + "\n---\n".join(errors[:3]))
    unrun = [i + 1 for i, p in enumerate(state["prompts"]) if not re.search(r"\[\d+\]", p)]
    if unrun:
        notes.append(f"code cells not run (empty?): {unrun}")
    stderr = page.evaluate(JS_STDERR)
    if stderr:
        notes.append(f"{len(stderr)} stderr output(s), first: {stderr[0][:150]!r}")

    # (b) plotly figures, (c) widgets, per app
    apps = page.evaluate(JS_TAG_APPS)
    if state["plots"] == 0:
        raise CheckError("no plotly figure rendered (no .js-plotly-plot element in any output)")
    if state["drawn"] != state["plots"]:
        raise CheckError(f"{state['plots'] - state['drawn']} of {state['plots']} plotly figures have no SVG or no traces")
    if not apps:
        raise CheckError("no ipywidgets app rendered (no widget output in any cell)")
    for a in apps:
        if a["controls"] == 0:
            raise CheckError(f"app {a['app']} (cell {a['cell']}) shows no slider or dropdown")
        if a["drawn"] == 0:
            raise CheckError(f"app {a['app']} (cell {a['cell']}) shows no plotly figure")

    # screenshots, before any control moves: the whole notebook, then each app
    for old in out.glob(f"{stem}-*.png"):
        if re.fullmatch(rf"{re.escape(stem)}-(\d+|notebook)\.png", old.name):
            old.unlink()
    style = page.add_style_tag(content=SCREENSHOT_CSS)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    size = page.evaluate(JS_NOTEBOOK_HEIGHT)
    tall = min(MAX_SHOT_HEIGHT, VIEWPORT["height"] + max(0, size["content"] - size["visible"]))
    page.set_viewport_size({"width": VIEWPORT["width"], "height": tall})
    page.wait_for_timeout(800)
    settled(page, left())
    size = page.evaluate(JS_NOTEBOOK_HEIGHT)  # scrolled to the top; the page now holds the whole notebook
    bottom = int(min(tall, size["bottom"] + 24)) if size["bottom"] > 0 else tall
    shots = []
    page.screenshot(path=out / f"{stem}-notebook.png", clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": bottom})
    shots.append(f"{stem}-notebook.png")
    for a in apps:
        name = f"{stem}-{a['app']}.png"
        page.locator(f'[data-browsercheck-app="{a["app"]}"]').screenshot(path=out / name)
        shots.append(name)
    style.evaluate("el => el.remove()")
    page.set_viewport_size(VIEWPORT)
    page.wait_for_timeout(500)

    # (d) moving a control redraws a figure, in every app
    moves = []
    for a in apps:
        before = page.evaluate(JS_APP_FIGURES, a["app"])
        if before is None:
            raise CheckError(f"app {a['app']}: figures not readable before moving a control")
        tried = []
        for control in range(min(3, a["controls"])):
            moved = move_control(page, a["app"], control)
            if moved is None:
                tried.append(f"control {control + 1} did not move")
                continue

            def redrawn():
                now = page.evaluate(JS_APP_FIGURES, a["app"])
                return now is not None and now != before and kernel_idle(page) is not None

            try:
                wait_until(page, "a redraw", redrawn, min(30.0, left()), interval=0.3)
            except CheckError:
                tried.append(f"{moved}: figure unchanged")
                continue
            moves.append(f"app {a['app']} {moved}")
            if tried:
                notes.append(f"app {a['app']}: before that, {'; '.join(tried)}")
            break
        else:
            raise CheckError(f"app {a['app']} (cell {a['cell']}): moving a control did not redraw its figure ({'; '.join(tried)})")
        settled(page, left())

    # (e) an app that builds networks (the designer): add a layer, change an option, photograph the result
    for a in apps:
        edited = edit_designer(page, a["app"], out / f"{stem}-{a['app']}-edited.png", left)
        if edited:
            moves.append(f"app {a['app']} {edited}")
            shots.append(f"{stem}-{a['app']}-edited.png")

    errors = page.evaluate(JS_ERRORS, ERROR_PATTERNS)
    if errors:
        raise CheckError("after moving the controls an output shows an error:\n" + "\n---\n".join(errors[:3]))
    kernel_log = lab.log_text(log_start)
    if "Traceback (most recent call last)" in kernel_log:
        tb = kernel_log[kernel_log.index("Traceback (most recent call last)"):][:1500]
        raise CheckError("the kernel logged a traceback (an error in a widget callback?):\n" + tb)

    return {"apps": len(apps), "figures": state["plots"], "widgets": state["widgets"], "moves": moves, "shots": shots,
            "run_s": run_s, "total_s": time.monotonic() - start, "notes": notes}


# --- main ----------------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/*.ipynb that calls an app of lstmlab.widgets")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots", help="where the screenshots go")
    parser.add_argument("--timeout", type=float, default=900, help="overall limit in seconds (default 900)")
    parser.add_argument("--notebook-timeout", type=float, default=300, help="limit per notebook in seconds (default 300)")
    parser.add_argument("--verbose", "-v", action="store_true", help="also print the browser's console errors")
    args = parser.parse_args(argv)
    t0 = time.monotonic()

    # Hard stop: whatever hangs, end everything this script started.
    def overall_timeout():
        log(f"TIMEOUT: the browser check ran past {args.timeout:.0f} s; killing JupyterLab, kernels and chromium")
        kill_descendants()
        os._exit(3)

    watchdog = threading.Timer(args.timeout, overall_timeout)
    watchdog.daemon = True
    watchdog.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    notebooks = [p.resolve() for p in args.notebooks] or widget_notebooks()
    if not notebooks:
        log("FAIL: no notebook to check (no notebooks/*.ipynb calls an app of lstmlab.widgets; pass paths to check others)")
        log("0 passed, 0 failed")
        return 2
    missing = [str(p) for p in notebooks if not p.is_file()]
    if missing:
        log(f"FAIL: no such notebook: {', '.join(missing)}")
        return 2
    missing = browser_missing("test-browser")
    if missing:
        log(f"FAIL: {missing}")
        return 2
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    inside = all(REPO in p.parents for p in notebooks)
    root = REPO if inside else Path(os.path.commonpath([str(p.parent) for p in notebooks]))
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    hashes = {p: (sha(p), p.read_bytes()) for p in notebooks}
    results = {}
    lab = pw = context = None
    with tempfile.TemporaryDirectory(prefix="lstmlab-browser-") as tmp:
        try:
            t = time.monotonic()
            lab = Lab(root, tmp, timeout=120)
            log(f"JupyterLab up on {lab.url} (root {root}) in {time.monotonic() - t:.1f} s")
            t = time.monotonic()
            pw = sync_playwright().start()
            profile = Path(tmp) / "chromium-profile"
            context = pw.chromium.launch_persistent_context(
                str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, viewport=VIEWPORT,
                device_scale_factor=1, timeout=60_000)
            context.set_default_timeout(60_000)
            log(f"chromium {context.browser.version if context.browser else ''} started in {time.monotonic() - t:.1f} s")
            for path in notebooks:
                page = context.new_page()
                console = []
                page.on("pageerror", lambda e, console=console: console.append(f"page error: {e}"))
                page.on("console", lambda m, console=console: m.type == "error" and console.append(f"console: {m.text[:300]}"))
                try:
                    r = check_notebook(page, lab, path, out, min(args.notebook_timeout, t0 + args.timeout - time.monotonic()))
                    results[path] = None
                    log(f"PASS {path.name}: {r['apps']} app(s), {r['figures']} figure(s), {r['widgets']} widget views; "
                        f"redraw on {'; '.join(r['moves'])}; ran in {r['run_s']:.1f} s, checked in {r['total_s']:.1f} s")
                    log(f"     screenshots: {', '.join(r['shots'])}")
                    for note in r["notes"]:
                        log(f"     note: {note}")
                except (CheckError, PlaywrightError) as e:
                    results[path] = str(e)
                    log(f"FAIL {path.name}: {e}")
                    try:
                        FAILED_DIR.mkdir(parents=True, exist_ok=True)
                        page.set_viewport_size(VIEWPORT)
                        page.screenshot(path=FAILED_DIR / f"{path.stem}-FAILED.png")
                        log(f"     the page as it was: {FAILED_DIR / (path.stem + '-FAILED.png')}")
                    except PlaywrightError:
                        pass
                if args.verbose or results[path]:
                    for line in console[:8]:
                        log(f"     browser {line}")
                page.close()
                lab.shutdown_kernels()
        except (RuntimeError, PlaywrightError) as e:
            log(f"FAIL: {e}")
            for path in notebooks:
                results.setdefault(path, str(e))
        finally:
            if context is not None:
                try:
                    context.close()
                except Exception:  # noqa: BLE001 - closing anyway
                    pass
            if pw is not None:
                pw.stop()
            if lab is not None:
                lab.stop()
            left = kill_descendants()
            if left:
                log(f"note: killed {len(left)} leftover process(es)")
            saved = lab.saved_files() if lab is not None else set()
            for path, (digest, data) in hashes.items():
                if sha(path) == digest:
                    continue
                if path in saved:  # JupyterLab wrote it: put the file back as it was
                    path.write_bytes(data)
                    results[path] = (results.get(path) or "") + " JupyterLab saved the notebook during the check (restored)"
                    log(f"FAIL {path.name}: JupyterLab saved the notebook during the check; restored it")
                else:  # someone else edited it meanwhile: leave their version alone
                    log(f"note: {path.name} changed during the check, not by JupyterLab; left as it is")
            watchdog.cancel()

    failed = sum(1 for v in results.values() if v)
    log(f"{len(results) - failed} passed, {failed} failed ({time.monotonic() - t0:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
