## degbridge for R users is an R package: library(degbridge).
##
## This file is the old entry point, source(import("degbridge")$r_script_path("degbridge.R")):
## it attaches the installed R package, whose functions keep the old names (degbridge_limma,
## degbridge_compare, degbridge_fit, degbridge_test, degbridge_decide_tests), or says how to
## install it from the Python package that ships it.
if (requireNamespace("degbridge", quietly = TRUE)) {
  library(degbridge)
} else {
  stop("degbridge for R is an R package now: install it once with\n",
       "  R CMD INSTALL \"$(python -c 'import degbridge.r; print(degbridge.r.r_package_path())')\"\n",
       "(the python where degbridge is installed), then library(degbridge)", call. = FALSE)
}
