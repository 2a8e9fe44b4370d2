## degbridge: spline and polynomial bases for time-course designs.
##
## A formula such as ~ group * ns(time, df = 3) is tokenised and checked in Python
## (degbridge/design.py); the basis columns are computed here, by the very functions R's
## model.matrix would call (splines::ns, splines::bs, stats::poly), on the numeric column.
## Every argument is data: a numeric vector, the name of one of three functions (matched
## against a fixed list, never evaluated) and an integer. Nothing is parsed or evaluated.
##
##   source("splines.R")
##   degbridge_basis(c(0, 0, 24, 24, 48, 48, 72, 72), "ns", 3L)   # == unname(ns(time, df = 3))

## x: numeric vector (finite); fn: "ns", "bs" or "poly"; df: the df of ns/bs, the degree of
## poly. Returns list(basis = the basis column by column, as one numeric vector, ncol = k).
degbridge_basis <- function(x, fn, df) {
  stopifnot(is.numeric(x), all(is.finite(x)), is.character(fn), length(fn) == 1L,
            is.numeric(df), length(df) == 1L, df >= 1)
  fn <- match.arg(fn, c("ns", "bs", "poly"))
  df <- as.integer(df)
  basis <- switch(fn,
    ns = splines::ns(x, df = df),
    bs = splines::bs(x, df = df),
    poly = stats::poly(x, degree = df)
  )
  list(basis = as.numeric(unclass(basis)), ncol = ncol(basis))
}
