# The front door: `make lab` opens the lessons, `make test` runs every test and notebook.
# Both create .venv on first use and install lstmlab with the versions pinned in constraints.txt.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab test test-other-cpu test-student-edition notebooks test-browser test-book book test-binder benchmark constraints clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[lab,test]"
	touch $(STAMP)

# `lstmlab lab` opens JupyterLab on notebooks/ (with --allow-root when run as root, as in containers).
lab: $(STAMP)
	$(BIN)/lstmlab lab

test: $(STAMP)
	$(BIN)/python -m pytest

# The lessons once more as on another machine: torch's portable kernels (no AVX) and one thread sum
# in another order, so every trained number changes a little; the lessons' checks must still hold.
test-other-cpu: $(STAMP)
	ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1 $(BIN)/python -m pytest notebooks

# The student edition (lstmlab student-edition: the lessons without the cells tagged solution) under
# nbval: no lesson may need what a solution computed.
test-student-edition: $(STAMP)
	rm -rf build/student
	$(BIN)/lstmlab student-edition build/student
	$(BIN)/python -m pytest -p no:cacheprovider build/student

# Run every lesson and store its outputs (plotly figures as JSON, apps as text, cells numbered in
# order), so that re-running an unchanged lesson changes nothing in git. After editing a lesson.
notebooks: $(STAMP)
	$(BIN)/lstmlab execute notebooks/*.ipynb

# The real-browser check (tests/browser/check.py): JupyterLab on localhost, Debian's chromium driven by
# Playwright, every widget notebook run, its apps moved and screenshotted into docs/screenshots/.
# It installs what it needs: chromium with apt (browsers cannot be downloaded, so never `playwright
# install`) and playwright, pinned here rather than in constraints.txt. NOTEBOOKS=a.ipynb checks others.
PLAYWRIGHT := playwright==1.65.2
NOTEBOOKS ?=
test-browser: $(STAMP)
	test -x /usr/bin/chromium || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }
	$(BIN)/python -m pip install --quiet -c constraints.txt $(PLAYWRIGHT)
	$(BIN)/python tests/browser/check.py $(NOTEBOOKS)

# The lessons and the API reference as a website in build/book/ (docs/book/make_book.py: Sphinx with
# myst-nb and sphinx-book-theme), from the stored notebooks, never executed; offline, about a minute.
# BOOK_OWNER=name puts that GitHub owner in the "launch on Binder" links; STUDENT=1 leaves solutions out.
BOOK_STAMP := $(VENV)/.installed-book
$(BOOK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[lab,book]"
	touch $(BOOK_STAMP)

book: $(BOOK_STAMP)
	$(BIN)/python docs/book/make_book.py $(if $(BOOK_OWNER),--owner $(BOOK_OWNER)) $(if $(STUDENT),--student)

# The built site in a real browser (tests/browser/book_check.py): every page without a console error,
# every figure drawn, the search, every internal link. The same chromium and playwright as test-browser.
test-book: book
	test -x /usr/bin/chromium || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }
	$(BIN)/python -m pip install --quiet -c constraints.txt $(PLAYWRIGHT)
	$(BIN)/python tests/browser/book_check.py

# The Binder set-up, installed for real in a fresh virtual environment (tests/binder/check.sh).
test-binder:
	bash tests/binder/check.sh

benchmark: $(STAMP)
	$(BIN)/python benchmarks/trace_overhead.py
	$(BIN)/python benchmarks/batching.py

# Re-pin after changing dependencies: records what .venv holds now.
constraints: $(STAMP)
	{ sed -n '1,2p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable | sed 's/+cpu$$//' | grep -v -i -E '^(playwright|greenlet|pyee)=='; } > constraints.tmp
	mv constraints.tmp constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
