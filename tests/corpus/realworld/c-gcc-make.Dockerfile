FROM gcc:14 AS build
WORKDIR /usr/src/app
COPY Makefile *.c *.h ./
RUN make -j"$(nproc)" CFLAGS="-O2 -static"

FROM debian:bookworm-slim
COPY --from=build /usr/src/app/hello /usr/local/bin/hello
CMD ["hello"]
