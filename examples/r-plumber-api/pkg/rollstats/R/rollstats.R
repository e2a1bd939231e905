#' Rolling mean over a window of k values (length(x) - k + 1 results).
roll_mean <- function(x, k = 3L) {
  .Call(C_roll_mean, as.double(x), as.integer(k))
}

#' Exponentially weighted moving average, alpha in (0, 1].
ewma <- function(x, alpha = 0.3) {
  .Call(C_ewma, as.double(x), as.double(alpha))
}

#' Count, mean, standard deviation, min and max in one pass (Welford).
describe <- function(x) {
  out <- .Call(C_describe, as.double(x))
  names(out) <- c("n", "mean", "sd", "min", "max")
  as.list(out)
}
