# syntax=docker/dockerfile:1.4
FROM nginx:stable
COPY <<-EOF /etc/nginx/conf.d/default.conf
	server {
		listen 80;
		location / {
			proxy_pass http://app:8000;
			proxy_set_header Host $host;
		}
	}
	EOF
RUN ln -sf /dev/stdout /var/log/nginx/access.log \
	&& ln -sf /dev/stderr /var/log/nginx/error.log
HEALTHCHECK CMD curl --fail http://localhost/ || exit 1
