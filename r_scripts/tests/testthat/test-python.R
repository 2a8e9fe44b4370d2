## Python missing, or without degbridge: one line naming the Python tried and the command
## that installs degbridge into it. Each case in a fresh R process (reticulate cannot switch
## Python once it runs).

run_r <- function(code, python) {
  script <- tempfile(fileext = ".R")
  writeLines(code, script)
  env <- c(paste0("R_LIBS=", paste(.libPaths(), collapse = .Platform$path.sep)),
           paste0("DEGBRIDGE_PYTHON=", python), "RETICULATE_PYTHON=", "PYTHONPATH=")
  out <- suppressWarnings(system2(file.path(R.home("bin"), "Rscript"), c("--vanilla", script),
                                  env = env, stdout = TRUE, stderr = TRUE))
  out[nzchar(out)]
}

code <- c("library(degbridge)",
          "x <- matrix(rpois(40, 10), 10, dimnames = list(paste0('g', 1:10), paste0('s', 1:4)))",
          "degbridge_limma(x, groups = c('a', 'a', 'b', 'b'), contrast = 'b - a')")

test_that("a Python that does not exist: one line naming it", {
  out <- run_r(code, "/nonexistent/bin/python3")
  expect_identical(out[1], paste0("Error: degbridge: Python '/nonexistent/bin/python3' (from ",
                                  "DEGBRIDGE_PYTHON) does not exist; point it to a Python with ",
                                  "degbridge installed"))
  expect_identical(out[2], "Execution halted")
  expect_length(out, 2L)
})

test_that("a Python without degbridge: one line with the command that installs it", {
  skip_if_no_degbridge()
  python <- reticulate::py_config()$python
  env <- file.path(tempfile("venv"))
  status <- system2(python, c("-m", "venv", "--without-pip", env), stdout = FALSE,
                    stderr = FALSE)
  skip_if(status != 0, "python -m venv is not available")
  bare <- file.path(env, "bin", "python")
  out <- run_r(code, bare)
  expect_identical(out[1], paste0(
    "Error: degbridge: the Python module degbridge is not installed in ", shQuote(bare),
    " (from DEGBRIDGE_PYTHON); install it with: ", shQuote(bare), " -m pip install degbridge",
    " (from a checkout: ", shQuote(bare), " -m pip install -e <checkout>)"))
  expect_length(out, 2L)
  expect_false(isTRUE(as.logical(run_r(c("library(degbridge)", "cat(degbridge_available())"),
                                       bare))))
})
