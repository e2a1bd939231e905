// A zero-dependency status service: GET / says hello, GET /health reports uptime.
const http = require("node:http");

const started = Date.now();
const port = Number(process.env.PORT || 3000);

const server = http.createServer((req, res) => {
  if (req.url === "/" || req.url === "/health") {
    const body = {
      message: "hello from junk-context",
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
    };
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
    return;
  }
  res.writeHead(404, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ error: "not found" }));
});

server.listen(port, "0.0.0.0", () => console.log(`junk-context listening on port ${port}`));
