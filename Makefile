# Everything a fresh Debian machine needs, then the job. `make demo` and `make test` are the
# README's two commands; both install what they need first.
VENV     ?= .venv
PY       := $(VENV)/bin/python
BENCH    := $(VENV)/bin/bench
SUDO     := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
STAMP    := $(VENV)/.installed
SYS_PKGS := tesseract-ocr tesseract-ocr-kor tesseract-ocr-eng fonts-nanum fontconfig
# Only the tests need these: a real browser opens report.html (tests/test_report_browser.py).
TEST_SYS_PKGS := chromium

.PHONY: setup system-deps test-deps demo test bench-eval clean

setup: system-deps $(STAMP)

# Debian packages: the local OCR engine with Korean data and a Hangul font.
system-deps:
	@if ! dpkg -s $(SYS_PKGS) >/dev/null 2>&1; then \
		echo "Installing Debian packages: $(SYS_PKGS)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(SYS_PKGS); \
	fi

test-deps:
	@if ! dpkg -s $(TEST_SYS_PKGS) >/dev/null 2>&1; then \
		echo "Installing Debian packages for the tests: $(TEST_SYS_PKGS)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(TEST_SYS_PKGS); \
	fi

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: setup
	$(BENCH) demo --out runs/demo

test: setup test-deps
	$(PY) -m pytest -q

bench-eval: setup
	$(PY) benchmarks/eval_speed.py

clean:
	rm -rf $(VENV) runs
