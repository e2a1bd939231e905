"""metrics-ingest: POST points as JSON or MessagePack, read summaries back.

    GET  /                        service info
    POST /ingest                  [{"name": "cpu", "ts": 1700000000.0, "value": 0.42}, ...]
                                  (Content-Type: application/msgpack for MessagePack)
    GET  /series                  series names
    GET  /series/{name}           count / mean / min / max / last
    GET  /series/{name}/points    the last points, MessagePack with Accept: application/msgpack
"""

from __future__ import annotations

import time

import msgpack
from fastapi import FastAPI, HTTPException, Request, Response
from pydantic import BaseModel

from app.store import Store

MSGPACK = "application/msgpack"

app = FastAPI(title="metrics-ingest", version="0.3.0")
store = Store()


class Point(BaseModel):
    name: str
    ts: float | None = None
    value: float


@app.get("/")
def info() -> dict:
    return {
        "service": "metrics-ingest",
        "message": "hello from metrics-ingest",
        "msgpack": msgpack.version,
        "msgpack_c_extension": not msgpack.Packer.__module__.startswith("msgpack.fallback"),
        "series": len(store.names()),
    }


@app.post("/ingest")
async def ingest(request: Request) -> dict:
    body = await request.body()
    if request.headers.get("content-type", "").startswith(MSGPACK):
        raw = msgpack.unpackb(body)
    else:
        raw = await request.json()
    if not isinstance(raw, list):
        raise HTTPException(400, "expected a list of points")
    now = time.time()
    points = []
    for item in raw:
        point = Point.model_validate(item)
        points.append({"name": point.name, "ts": point.ts or now, "value": point.value})
    return {"accepted": store.ingest(points)}


@app.get("/series")
def series() -> list[str]:
    return store.names()


@app.get("/series/{name}")
def summary(name: str) -> dict:
    result = store.summary(name)
    if result is None:
        raise HTTPException(404, f"no series {name!r}")
    return {"name": name, **result}


@app.get("/series/{name}/points")
def points(name: str, request: Request):
    data = store.points(name)
    if request.headers.get("accept", "").startswith(MSGPACK):
        return Response(msgpack.packb(data), media_type=MSGPACK)
    return data
