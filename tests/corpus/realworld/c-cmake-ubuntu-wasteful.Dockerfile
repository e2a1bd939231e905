FROM ubuntu:22.04
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y \
    build-essential \
    cmake \
    git \
    wget \
    libboost-all-dev
RUN wget https://example.com/deps/libfoo-1.2.tar.gz && tar xzf libfoo-1.2.tar.gz
RUN cd libfoo-1.2 && ./configure && make && make install
RUN rm -rf libfoo-1.2 libfoo-1.2.tar.gz
COPY . /src
RUN mkdir -p /src/build && cd /src/build && cmake .. -DCMAKE_BUILD_TYPE=Release && make -j4
ENTRYPOINT ["/src/build/app"]
