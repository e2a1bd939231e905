import assert from "node:assert/strict";
import { test } from "node:test";

import { bucket, evaluate, FlagStore } from "../src/flags";

test("buckets are stable and in range", () => {
  const b = bucket("new-checkout", "alice");
  assert.equal(b, bucket("new-checkout", "alice"));
  assert.ok(b >= 0 && b < 100);
});

test("rollout, allow list and disabled flags", () => {
  const store = new FlagStore();
  const off = store.upsert({ key: "off", enabled: false, allow: ["alice"] });
  const all = store.upsert({ key: "all", enabled: true });
  const none = store.upsert({ key: "none", enabled: true, rollout: 0, allow: ["bob"] });
  assert.equal(evaluate(off, "alice"), false);
  assert.equal(evaluate(all, undefined), true);
  assert.equal(evaluate(none, "alice"), false);
  assert.equal(evaluate(none, "bob"), true);
  assert.deepEqual(store.evaluateAll("bob"), { all: true, none: true, off: false });
});

test("invalid keys are rejected", () => {
  assert.throws(() => new FlagStore().upsert({ key: "Not Valid" }));
});
