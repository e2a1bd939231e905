# rollstats-api: rolling statistics over numbers, served with plumber.
library(rollstats)

parse_numbers <- function(text) {
  x <- suppressWarnings(as.numeric(strsplit(text, ",", fixed = TRUE)[[1]]))
  if (!length(x) || anyNA(x)) stop("x must be comma-separated numbers")
  x
}

#* Service info
#* @get /
#* @serializer unboxedJSON
function() {
  list(
    service = "rollstats-api",
    message = "hello from rollstats-api",
    r = R.version.string,
    rollstats = as.character(utils::packageVersion("rollstats")),
    plumber = as.character(utils::packageVersion("plumber"))
  )
}

#* Rolling mean and EWMA of comma-separated numbers
#* @param x:str numbers, e.g. 1,2,3,4,5
#* @param k:int window of the rolling mean
#* @param alpha:dbl EWMA smoothing factor
#* @get /roll
function(x = "1,2,3,4,5,6", k = "3", alpha = "0.5", res) {
  values <- tryCatch(parse_numbers(x), error = function(e) NULL)
  if (is.null(values)) {
    res$status <- 400
    return(list(error = "x must be comma-separated numbers"))
  }
  list(
    x = values,
    roll_mean = roll_mean(values, as.integer(k)),
    ewma = ewma(values, as.numeric(alpha))
  )
}

#* One-pass summary of a JSON body {"x": [numbers]}
#* @post /describe
#* @serializer unboxedJSON
function(req, res) {
  values <- as.numeric(unlist(req$body$x))
  if (!length(values)) {
    res$status <- 400
    return(list(error = "send {\"x\": [numbers]}"))
  }
  describe(values)
}

#* Liveness probe
#* @get /healthz
#* @serializer text
function() "ok"
