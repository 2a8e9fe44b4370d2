## The Python half of degbridge, through reticulate: found once per R session.
##
## Python owns what must be the same in R and Python: option values (degbridge._params),
## designs and contrasts (formulas are parsed there, never evaluated in R) and compare()
## (scikit-learn). Everything crosses as plain lists (see convert.R).

.degbridge <- new.env(parent = emptyenv())

## Where the Python comes from: the option, DEGBRIDGE_PYTHON, RETICULATE_PYTHON, or
## reticulate's own choice (use_python(), or its search of the PATH).
.degbridge_python_choice <- function() {
  opt <- getOption("degbridge.python")
  if (!is.null(opt)) {
    if (!is.character(opt) || length(opt) != 1L || is.na(opt) || !nzchar(opt))
      stop("degbridge: option degbridge.python must be the path of a Python executable",
           call. = FALSE)
    return(list(python = .degbridge_absolute(opt), from = "option degbridge.python"))
  }
  for (var in c("DEGBRIDGE_PYTHON", "RETICULATE_PYTHON")) {
    value <- Sys.getenv(var)
    if (nzchar(value)) return(list(python = .degbridge_absolute(value), from = var))
  }
  NULL
}

## An absolute path (symbolic links kept: a virtual environment's python is one).
.degbridge_absolute <- function(path) {
  path <- path.expand(path)
  if (grepl("^(/|[A-Za-z]:[/\\\\])", path)) path else file.path(getwd(), path)
}

.degbridge_install_hint <- function(python) {
  paste0("install it with: ", shQuote(python), " -m pip install degbridge",
         " (from a checkout: ", shQuote(python), " -m pip install -e <checkout>)")
}

## Start Python (the chosen one) and import degbridge's bridge module; every failure is one
## line naming the Python tried and the command that fixes it.
.degbridge_connect <- function() {
  choice <- .degbridge_python_choice()
  ## Python already running, started by something else than degbridge: it cannot be switched
  started <- reticulate::py_available(initialize = FALSE) && !isTRUE(.degbridge$started)
  if (!started && !is.null(choice)) {
    if (!file.exists(choice$python))
      stop("degbridge: Python ", shQuote(choice$python), " (from ", choice$from,
           ") does not exist; point it to a Python with degbridge installed",
           call. = FALSE)
    ## the chosen Python, even when RETICULATE_PYTHON names another (it would win in
    ## reticulate); RETICULATE_PYTHON is restored once Python runs
    old <- Sys.getenv("RETICULATE_PYTHON", unset = NA)
    Sys.setenv(RETICULATE_PYTHON = choice$python)
    on.exit(if (is.na(old)) Sys.unsetenv("RETICULATE_PYTHON")
            else Sys.setenv(RETICULATE_PYTHON = old), add = TRUE)
  }
  if (!reticulate::py_available(initialize = FALSE)) .degbridge$started <- TRUE
  ok <- tryCatch(reticulate::py_available(initialize = TRUE), error = function(e) FALSE)
  tried <- if (!is.null(choice)) paste0(shQuote(choice$python), " (from ", choice$from, ")")
           else "reticulate's default"
  if (!ok)
    stop("degbridge: Python could not be started (tried ", tried, "); set ",
         "options(degbridge.python = \"/path/to/python\") or DEGBRIDGE_PYTHON to a Python ",
         "with degbridge installed", call. = FALSE)
  python <- reticulate::py_config()$python
  where <- if (started) " (started by reticulate before degbridge: restart R to choose another)"
           else if (!is.null(choice)) paste0(" (from ", choice$from, ")")
           else " (reticulate's choice; another: options(degbridge.python = \"/path/to/python\"))"
  bridge <- tryCatch(reticulate::import("degbridge._reticulate", convert = TRUE),
                     error = function(e) e)
  if (inherits(bridge, "error")) {
    text <- .degbridge_first_line(conditionMessage(bridge))
    if (grepl("No module named 'degbridge'", text, fixed = TRUE))
      stop("degbridge: the Python module degbridge is not installed in ", shQuote(python),
           where, "; ", .degbridge_install_hint(python), call. = FALSE)
    stop("degbridge: importing the Python module degbridge in ", shQuote(python), " failed (",
         text, "); ", .degbridge_install_hint(python), call. = FALSE)
  }
  version <- reticulate::import("degbridge._version", convert = TRUE)$`__version__`
  mine <- as.character(utils::packageVersion("degbridge"))
  if (!identical(version, mine))
    stop("degbridge: the R package is version ", mine, " but ", shQuote(python), " has ",
         "degbridge ", version, "; install the same version into that Python (",
         .degbridge_install_hint(python), ")", call. = FALSE)
  .degbridge$bridge <- bridge
  .degbridge$python <- python
  .degbridge$version <- version
  invisible(.degbridge)
}

.degbridge_first_line <- function(text) {
  lines <- strsplit(text, "\n", fixed = TRUE)[[1]]
  lines <- trimws(lines[nzchar(trimws(lines))])
  if (length(lines)) lines[1] else text
}

## The bridge module, connected on first use.
.degbridge_bridge <- function() {
  if (is.null(.degbridge$bridge)) .degbridge_connect()
  .degbridge$bridge
}

## Call a function of the bridge module; a Python exception becomes an R error with Python's
## message ("ValueError: ...") and no reticulate call or traceback around it.
.degbridge_py <- function(fun, ...) {
  f <- .degbridge_bridge()[[fun]]
  tryCatch(f(...), error = function(e) {
    text <- sub("[[:space:]]+$", "", conditionMessage(e))
    text <- sub("\n*Run `reticulate::py_last_error\\(\\)` for details\\.?$", "", text)
    stop(text, call. = FALSE)
  })
}

#' The Python that degbridge uses
#'
#' degbridge asks its Python package (through 'reticulate') to check option values and to
#' build designs and contrasts, and runs [degbridge_compare()] there; limma, edgeR and
#' DESeq2 run in this R session. The Python is, in this order: the option
#' `degbridge.python`, the environment variable `DEGBRIDGE_PYTHON`, `RETICULATE_PYTHON`,
#' or the one chosen with [reticulate::use_python()] (or found by reticulate). Set it before
#' the first degbridge call of the session: reticulate cannot switch Python once it runs.
#'
#' @return Invisibly, a list with `python` (the executable) and `version` (of the Python
#'   package degbridge, equal to the R package's). Errors, in one line naming the Python
#'   tried and the command that installs degbridge into it, when Python or its degbridge is
#'   missing.
#' @seealso [degbridge_available()] to test without an error.
#' @examplesIf degbridge_available()
#' degbridge_python()
#' @export
degbridge_python <- function() {
  .degbridge_bridge()
  message("degbridge ", .degbridge$version, " in Python ", .degbridge$python)
  invisible(list(python = .degbridge$python, version = .degbridge$version))
}

#' Is degbridge's Python usable?
#'
#' `TRUE` when the Python found as [degbridge_python()] describes runs and has the Python
#' package degbridge (of the R package's version), `FALSE` otherwise; never an error. It
#' starts Python, as the first degbridge call would.
#'
#' @return `TRUE` or `FALSE`.
#' @examples
#' degbridge_available()
#' @export
degbridge_available <- function() {
  isTRUE(tryCatch(!is.null(.degbridge_bridge()), error = function(e) FALSE))
}
