# degbridge: set-up, demo and tests on a Debian machine (root, or sudo for apt).
#   make demo   install what is missing, then run the demo on the bundled airway data
#               (make demo DEMO_ARGS=--quick: five fast models instead of 13)
#   make test   install what is missing (plus test-only R packages and headless chromium), then
#               R CMD check of the R package (r_scripts/; its tests run with .venv's Python)
#               and the test suite
#   make bench  the benchmarks in benchmarks/ (installs their baselines: lazypredict, scanpy)
#   make browser  the interactive report in Debian's headless chromium (installs chromium and
#               chromium-driver; selenium comes with the dev extra); fails if they are missing
#   make r-package  install the R package degbridge (r_scripts/) into R, with its R dependencies
#   make r-docs     regenerate the R package's NAMESPACE and man/ with roxygen2 (committed)
# R comes from Debian (CRAN/Bioconductor are not needed); Python packages go to ./.venv.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
DEMO_OUT ?= degbridge-demo
DEMO_ARGS ?=

# R and the Bioconductor packages degbridge calls; r-base-dev lets pip build rpy2's fast
# (API) mode.
R_CORE := r-base-core r-base-dev r-bioc-limma r-bioc-edger r-cran-statmod
# Gene annotation (external features for compare, gene symbols in the report): used by the
# demo and the tests. geneLenDataBase gives transcript lengths.
R_ANNOT := r-bioc-org.hs.eg.db r-bioc-go.db r-bioc-genelendatabase
# The R package degbridge (r_scripts/): what it imports, and what it suggests (DESeq2,
# SingleCellExperiment, hdf5r for .h5ad files; testthat and roxygen2 to test and document it).
R_PKG := r-cran-reticulate r-bioc-summarizedexperiment r-bioc-biobase r-bioc-deseq2 \
         r-bioc-singlecellexperiment r-cran-hdf5r
R_PKG_DEV := r-cran-testthat r-cran-roxygen2
# Used by the tests only: the ALL microarray data set, the HSMM time course
# (tests/comparison/test_hsmm.py, examples/cross_study_hsmm.py), and the R package's own.
R_TEST := r-bioc-all r-bioc-hsmmsinglecell $(R_PKG) $(R_PKG_DEV) $(R_ANNOT)

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test setup setup-test r-core r-annot r-test r-pkg-deps r-package r-docs r-check \
        python lint bench browser chromium clean

demo: setup
	$(VENV)/bin/degbridge demo -o $(DEMO_OUT) $(DEMO_ARGS)

# R CMD check of the R package, then the test suite: one test file per worker, as many
# workers as cores (PYTEST_ARGS=... to add options); the browser tests may not skip
test: setup-test
	$(MAKE) --no-print-directory r-check
	DEGBRIDGE_REQUIRE_BROWSER=1 $(PY) -m pytest -n auto --dist loadfile $(PYTEST_ARGS)

setup: r-core r-annot python
setup-test: r-core r-test python chromium

r-core:
	@if command -v Rscript >/dev/null 2>&1 && Rscript -e 'ok <- all(nzchar(vapply(c("limma", "edgeR", "statmod"), function(p) system.file(package = p), ""))); quit(status = !ok)' >/dev/null 2>&1 \
	    && [ -f /usr/share/R/include/R.h ]; then \
	  echo "R with limma, edgeR and statmod: present"; \
	else \
	  echo "Installing R and limma/edgeR/statmod from Debian..."; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(R_CORE); \
	fi

r-annot:
	@if Rscript -e 'ok <- all(nzchar(vapply(c("org.Hs.eg.db", "GO.db", "geneLenDataBase"), function(p) system.file(package = p), ""))); quit(status = !ok)' >/dev/null 2>&1; then \
	  echo "R annotation packages (org.Hs.eg.db, GO.db, geneLenDataBase): present"; \
	else \
	  echo "Installing R annotation packages from Debian..."; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(R_ANNOT); \
	fi

R_TEST_CHECK := "ALL", "HSMMSingleCell", "reticulate", "SummarizedExperiment", "Biobase", "DESeq2", \
  "SingleCellExperiment", "hdf5r", "testthat", "roxygen2", "org.Hs.eg.db", "GO.db", "geneLenDataBase"
r-test:
	@if Rscript -e 'ok <- all(nzchar(vapply(c($(R_TEST_CHECK)), function(p) system.file(package = p), ""))); quit(status = !ok)' >/dev/null 2>&1; then \
	  echo "R test packages (ALL, HSMM, the R package's dependencies, testthat, roxygen2, annotation): present"; \
	else \
	  echo "Installing R test packages from Debian..."; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(R_TEST); \
	fi

# Re-run pip only when pyproject.toml changed, or rpy2 is missing (R must exist first).
python: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml | r-core
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 -m venv needs Debian's python3-venv: installing it"; rm -rf $(VENV); \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv && \
	  $(PYTHON) -m venv $(VENV); }
	@# pip builds rpy2 from source: it needs the headers of this Python (Debian: python3-dev)
	@$(PY) -c "import os, sys, sysconfig; sys.exit(not os.path.isfile(os.path.join(sysconfig.get_config_var('INCLUDEPY'), 'Python.h')))" || { \
	  echo "building rpy2 needs the Python headers: installing Debian's python3-dev"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends python3-dev; }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[r,dev]'
	$(PY) -c "import rpy2, degbridge; print('degbridge', degbridge.__version__, '/ rpy2', rpy2.__version__)"
	@touch $@

R_PKG_CHECK := "reticulate", "SummarizedExperiment", "Biobase", "DESeq2", "SingleCellExperiment", "hdf5r"
r-pkg-deps: r-core
	@if Rscript -e 'ok <- all(nzchar(vapply(c($(R_PKG_CHECK)), function(p) system.file(package = p), ""))); quit(status = !ok)' >/dev/null 2>&1; then \
	  echo "R packages for the R package degbridge: present"; \
	else \
	  echo "Installing the R package's dependencies from Debian..."; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(R_PKG); \
	fi

# The R package degbridge into R's default library (library(degbridge)); it uses the Python
# of .venv when DEGBRIDGE_PYTHON (or options(degbridge.python)) names it: see README, From R.
r-package: r-pkg-deps python
	$(SUDO) R CMD INSTALL r_scripts
	@echo "library(degbridge) is ready; its Python: DEGBRIDGE_PYTHON=$(abspath $(PY))"

# NAMESPACE and man/ from the roxygen2 comments of r_scripts/R/ (tests/test_r_package.py fails
# when the committed files are stale)
r-docs: r-test
	cd r_scripts && Rscript -e 'roxygen2::roxygenise()'

# R CMD check --no-manual in a temporary folder: fails on any ERROR or WARNING. Its tests run
# with .venv's Python (DEGBRIDGE_TEST_REQUIRE_PYTHON: they may not skip for want of it).
# Debian's Rprofile.site names a CRAN mirror; an empty local repository keeps the check offline.
r-check: setup-test
	@set -e; dir=$$(mktemp -d); mkdir -p "$$dir/repo/src/contrib"; touch "$$dir/repo/src/contrib/PACKAGES"; \
	echo "options(repos = c(CRAN = \"file://$$dir/repo\"))" > "$$dir/Rprofile"; \
	echo "R CMD check of the R package (in $$dir)"; \
	cd "$$dir" && R CMD build --no-manual "$(CURDIR)/r_scripts" >build.log 2>&1 || { cat build.log; exit 1; }; \
	R_PROFILE="$$dir/Rprofile" DEGBRIDGE_PYTHON="$(abspath $(PY))" DEGBRIDGE_TEST_REQUIRE_PYTHON=1 \
	  R CMD check --no-manual degbridge_*.tar.gz || true; \
	status=$$(grep '^Status:' degbridge.Rcheck/00check.log || echo "Status: check did not finish"); \
	echo "R CMD check: $$status"; \
	if echo "$$status" | grep -q 'ERROR\|WARNING\|did not finish'; then \
	  tail -40 degbridge.Rcheck/tests/testthat.Rout.fail 2>/dev/null || true; exit 1; fi

lint: python
	$(VENV)/bin/ruff check degbridge tests benchmarks examples
	$(VENV)/bin/ruff format --check degbridge tests benchmarks examples

bench: setup
	$(PY) -m pip install -q -e '.[r,dev,bench]'
	$(PY) benchmarks/run_all.py

# chromium and chromium-driver come from the same Debian source package: versions always match
chromium:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then \
	  echo "chromium and chromedriver: present"; \
	else \
	  echo "Installing chromium and chromium-driver from Debian..."; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium chromium-driver; \
	fi

browser: setup-test chromium
	DEGBRIDGE_REQUIRE_BROWSER=1 $(PY) -m pytest tests/test_interactive_browser.py $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache $(DEMO_OUT)
