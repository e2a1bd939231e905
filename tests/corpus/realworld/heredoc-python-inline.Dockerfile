# syntax=docker/dockerfile:1
FROM python:3.12-slim
RUN <<EOF python3
import json, pathlib
pathlib.Path("/etc/app.json").write_text(json.dumps({"ok": True}))
EOF
RUN 3<<EOF cat /proc/self/fd/3 > /etc/motd
Welcome!
EOF
COPY --chmod=755 <<'EOF' /usr/local/bin/entrypoint.sh
#!/bin/sh
exec "$@"
EOF
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
CMD ["python3", "-c", "print(open('/etc/app.json').read())"]
