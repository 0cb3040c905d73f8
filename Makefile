# The front door: `make lab` opens the lessons, `make test` runs every test and notebook.
# Both create .venv on first use and install lstmlab with the versions pinned in constraints.txt.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab test benchmark constraints clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[lab,test]"
	touch $(STAMP)

# As root (containers, CI machines) JupyterLab refuses to start without --allow-root.
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/ $$([ "$$(id -u)" = 0 ] && echo --allow-root)

test: $(STAMP)
	$(BIN)/python -m pytest

benchmark: $(STAMP)
	$(BIN)/python benchmarks/trace_overhead.py
	$(BIN)/python benchmarks/batching.py

# Re-pin after changing dependencies: records what .venv holds now.
constraints: $(STAMP)
	{ sed -n '1,2p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable | sed 's/+cpu$$//'; } > constraints.tmp
	mv constraints.tmp constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
