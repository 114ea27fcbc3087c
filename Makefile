# Everything a fresh Debian machine needs, then the job. `make demo` and `make test` are the
# README's two commands; both install what they need first.
VENV     ?= .venv
PY       := $(VENV)/bin/python
BENCH    := $(VENV)/bin/bench
SUDO     := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo -n)
APT      := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get
STAMP    := $(VENV)/.installed
SYS_PKGS := python3 python3-venv tesseract-ocr tesseract-ocr-kor tesseract-ocr-eng fonts-nanum fontconfig
# Only the tests need these: a real browser opens report.html (tests/test_report_browser.py).
TEST_SYS_PKGS := chromium

.PHONY: setup system-deps test-deps demo test bench-eval clean

setup: system-deps $(STAMP)

# Debian packages: the local OCR engine with Korean data and a Hangul font.
system-deps:
	@if ! dpkg -s $(SYS_PKGS) >/dev/null 2>&1; then \
		echo "Installing Debian packages: $(SYS_PKGS)"; \
		$(APT) update -qq && $(APT) install -y -qq $(SYS_PKGS); \
	fi

test-deps:
	@if ! dpkg -s $(TEST_SYS_PKGS) >/dev/null 2>&1; then \
		echo "Installing Debian packages for the tests: $(TEST_SYS_PKGS)"; \
		$(APT) update -qq && $(APT) install -y -qq $(TEST_SYS_PKGS); \
	fi

$(STAMP): pyproject.toml
	@python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Korean OCR Bench needs Python 3.11 or newer; python3 is " + sys.version.split()[0])'
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
