FROM mcr.microsoft.com/devcontainers/base:ubuntu-24.04
ARG USERNAME=vscode
ARG USER_UID=1000
ARG USER_GID=$USER_UID
RUN apt-get update \
    && export DEBIAN_FRONTEND=noninteractive \
    # tools for the dev loop
    && apt-get -y install --no-install-recommends \
        shellcheck \
        jq \
    #
    # clean up
    && apt-get autoremove -y && apt-get clean -y && rm -rf /var/lib/apt/lists/*
USER $USERNAME
