import express, { NextFunction, Request, Response } from "express";
import pino from "pino";
import { ZodError } from "zod";

import { FlagStore } from "./flags";

export const logger = pino({ level: process.env.LOG_LEVEL ?? "info" });

export function createApp(store: FlagStore = new FlagStore()) {
  const app = express();
  app.use(express.json({ limit: "64kb" }));
  app.use((req, _res, next) => {
    logger.debug({ method: req.method, url: req.url }, "request");
    next();
  });

  app.get("/", (_req, res) => {
    res.json({ service: "flagd-lite", message: "hello from flagd-lite", flags: store.all().length });
  });

  app.get("/healthz", (_req, res) => {
    res.type("text/plain").send("ok\n");
  });

  app.get("/flags", (_req, res) => {
    res.json(store.all());
  });

  app.get("/flags/:key", (req, res) => {
    const flag = store.get(req.params.key);
    if (!flag) {
      res.status(404).json({ error: `no flag ${req.params.key}` });
      return;
    }
    res.json(flag);
  });

  app.put("/flags/:key", (req, res) => {
    const flag = store.upsert({ ...req.body, key: req.params.key });
    res.json(flag);
  });

  app.delete("/flags/:key", (req, res) => {
    res.status(store.remove(req.params.key) ? 204 : 404).end();
  });

  // every flag's value for one user: GET /evaluate?user=alice
  app.get("/evaluate", (req, res) => {
    const user = typeof req.query.user === "string" ? req.query.user : undefined;
    res.json({ user: user ?? null, flags: store.evaluateAll(user) });
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof ZodError) {
      res.status(400).json({ error: "invalid flag", issues: err.issues });
      return;
    }
    logger.error({ err }, "unhandled error");
    res.status(500).json({ error: "internal error" });
  });

  return app;
}
