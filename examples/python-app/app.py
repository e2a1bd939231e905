"""A tiny HTTP service used as decruft's bundled example."""

from http.server import BaseHTTPRequestHandler, HTTPServer

from itsdangerous import URLSafeSerializer
from markupsafe import escape

SERIALIZER = URLSafeSerializer("example-secret")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server naming
        token = SERIALIZER.dumps({"path": self.path})
        body = f"<p>hello from {escape(self.path)}</p><p>{token}</p>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    HTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
