library(testthat)
library(degbridge)

test_check("degbridge")
