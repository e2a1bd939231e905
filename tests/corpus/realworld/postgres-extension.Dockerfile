ARG PG_MAJOR=16
FROM postgres:${PG_MAJOR}
ARG PG_MAJOR
RUN set -eux; \
	apt-get update; \
	apt-get install -y --no-install-recommends \
		postgresql-server-dev-$PG_MAJOR \
		build-essential \
		git \
	; \
	git clone --depth 1 https://github.com/pgvector/pgvector.git /tmp/pgvector; \
	cd /tmp/pgvector; \
	make && make install; \
	apt-get purge -y --auto-remove postgresql-server-dev-$PG_MAJOR build-essential git; \
	rm -rf /tmp/pgvector /var/lib/apt/lists/*
COPY --chmod=755 init.sh /docker-entrypoint-initdb.d/
