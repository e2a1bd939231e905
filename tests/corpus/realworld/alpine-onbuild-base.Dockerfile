FROM alpine:3.20
RUN apk add --no-cache python3 py3-pip
ONBUILD COPY requirements.txt /app/
ONBUILD RUN pip install --no-cache-dir --break-system-packages -r /app/requirements.txt
ONBUILD COPY . /app
ONBUILD RUN <<EOF
python3 -m compileall /app
EOF
WORKDIR /app
CMD ["python3", "main.py"]
