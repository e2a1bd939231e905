# Start the plumber API on all interfaces (PORT, default 8000).
port <- as.integer(Sys.getenv("PORT", "8000"))
api <- plumber::pr("plumber.R")
plumber::pr_run(api, host = "0.0.0.0", port = port, docs = FALSE)
