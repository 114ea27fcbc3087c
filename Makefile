# Everything a fresh Debian machine needs, then the job. `make demo` and `make test` are the
# README's two commands; both install what they need first.
VENV     ?= .venv
PY       := $(VENV)/bin/python
BENCH    := $(VENV)/bin/bench
SUDO     := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo -n)
APT      := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get
STAMP    := $(VENV)/.installed
# libgl1 and libglib2.0-0: OpenCV (under the rapidocr provider) loads them when it is imported.
SYS_PKGS := python3 python3-venv tesseract-ocr tesseract-ocr-kor tesseract-ocr-kor-vert tesseract-ocr-eng fonts-nanum fontconfig \
            libgl1 libglib2.0-0
# Only the tests need these: a real browser opens report.html (tests/test_report_browser.py).
TEST_SYS_PKGS := chromium

.PHONY: setup system-deps test-deps apt-install demo test test-fast bench-eval clean

setup: system-deps $(STAMP)

# Debian packages: the local OCR engine with Korean data and a Hangul font.
system-deps:
	@$(MAKE) --no-print-directory apt-install PKGS="$(SYS_PKGS)" WHY="Debian packages"

test-deps:
	@$(MAKE) --no-print-directory apt-install PKGS="$(TEST_SYS_PKGS)" WHY="Debian packages for the tests"

# One line on success; apt's full log only when it fails. No recommends: the browser test needs
# chromium itself, not the ~130 packages it recommends.
apt-install:
	@if ! dpkg -s $(PKGS) >/dev/null 2>&1; then \
		echo "Installing $(WHY): $(PKGS)"; \
		log=$$(mktemp); \
		if ! { $(APT) update -qq && $(APT) install -y -qq --no-install-recommends $(PKGS); } >$$log 2>&1; then \
			cat $$log; rm -f $$log; exit 1; \
		fi; \
		rm -f $$log; \
	fi

$(STAMP): pyproject.toml
	@python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Korean OCR Bench needs Python 3.11 or newer; python3 is " + sys.version.split()[0])'
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: setup
	$(BENCH) demo --out runs/demo
	@echo "The bench command is $(BENCH); to type plain 'bench' as the README does: . $(VENV)/bin/activate"

test: setup test-deps
	$(PY) -m pytest -q

# The quick loop: everything that starts no process, server, engine or browser (seconds).
test-fast: setup
	$(PY) -m pytest -q -m "not slow"

bench-eval: setup
	$(PY) benchmarks/eval_speed.py

clean:
	rm -rf $(VENV) runs
