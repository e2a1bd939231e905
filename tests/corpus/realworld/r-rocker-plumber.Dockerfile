FROM rocker/r-ver:4.4.1

RUN apt-get update -qq && apt-get install -y --no-install-recommends \
      libcurl4-openssl-dev \
      libssl-dev \
      libxml2-dev \
    && rm -rf /var/lib/apt/lists/*

RUN install2.r --error --skipinstalled --ncpus -1 \
    plumber \
    dplyr \
    jsonlite \
 && rm -rf /tmp/downloaded_packages

COPY api/ /srv/api/
WORKDIR /srv/api
EXPOSE 8000
ENTRYPOINT ["R", "-e", "pr <- plumber::plumb('plumber.R'); pr$run(host='0.0.0.0', port=8000)"]
