import msgpack
from fastapi.testclient import TestClient

from app.main import app

client = TestClient(app)


def test_info_says_hello():
    body = client.get("/").json()
    assert body["message"] == "hello from metrics-ingest"
    assert body["msgpack_c_extension"] is True


def test_ingest_json_and_msgpack():
    assert client.post("/ingest", json=[{"name": "cpu", "ts": 1.0, "value": 2.0}]).json() == {"accepted": 1}
    packed = msgpack.packb([{"name": "cpu", "ts": 2.0, "value": 4.0}])
    answer = client.post("/ingest", content=packed, headers={"content-type": "application/msgpack"})
    assert answer.json() == {"accepted": 1}
    summary = client.get("/series/cpu").json()
    assert summary["count"] == 2 and summary["mean"] == 3.0 and summary["max"] == 4.0
    raw = client.get("/series/cpu/points", headers={"accept": "application/msgpack"}).content
    assert msgpack.unpackb(raw) == [[1.0, 2.0], [2.0, 4.0]]
