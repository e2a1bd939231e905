FROM debian:bookworm
RUN apt-get update && apt-get install -y curl gnupg
RUN curl -fsSL https://deb.nodesource.com/setup_20.x | bash -
RUN apt-get install -y nodejs
ADD https://example.com/releases/tool-v1.0.tar.gz /tmp/
RUN tar -xzf /tmp/tool-v1.0.tar.gz -C /opt && rm /tmp/tool-v1.0.tar.gz
COPY . /opt/app
RUN chmod -R 755 /opt/app
WORKDIR /opt/app
CMD ./start.sh
