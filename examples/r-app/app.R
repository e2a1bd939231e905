# A small JSON API in R: summary statistics of a numeric column of a built-in data set.
#   GET /                       -> hello and the data sets on offer
#   GET /stats?dataset=mtcars&column=mpg
library(httpuv)
library(jsonlite)

datasets <- list(mtcars = mtcars, iris = iris, airquality = airquality)

json_response <- function(status, value) {
  list(
    status = status,
    headers = list("Content-Type" = "application/json"),
    body = as.character(toJSON(value, auto_unbox = TRUE, digits = 4))
  )
}

query_params <- function(query) {
  query <- sub("^\\?", "", query)
  if (!nzchar(query)) return(list())
  pairs <- strsplit(strsplit(query, "&", fixed = TRUE)[[1]], "=", fixed = TRUE)
  values <- lapply(pairs, function(p) if (length(p) > 1) URLdecode(p[[2]]) else "")
  names(values) <- vapply(pairs, function(p) URLdecode(p[[1]]), "")
  values
}

column_stats <- function(params) {
  name <- if (is.null(params$dataset)) "mtcars" else params$dataset
  data <- datasets[[name]]
  if (is.null(data)) return(json_response(404L, list(error = paste("no data set", name))))
  column <- if (is.null(params$column)) names(data)[[1]] else params$column
  values <- data[[column]]
  if (!is.numeric(values)) {
    return(json_response(400L, list(error = paste("no numeric column", column, "in", name))))
  }
  values <- values[!is.na(values)]
  json_response(200L, list(
    dataset = name, column = column, n = length(values),
    mean = mean(values), sd = sd(values), median = median(values),
    min = min(values), max = max(values)
  ))
}

app <- list(call = function(req) {
  if (req$REQUEST_METHOD != "GET") return(json_response(405L, list(error = "GET only")))
  switch(req$PATH_INFO,
    "/" = json_response(200L, list(message = "hello from r-app", datasets = names(datasets))),
    "/stats" = column_stats(query_params(req$QUERY_STRING)),
    json_response(404L, list(error = "not found"))
  )
})

port <- as.integer(Sys.getenv("PORT", "8000"))
message("r-app listening on port ", port)
runServer("0.0.0.0", port, app)
