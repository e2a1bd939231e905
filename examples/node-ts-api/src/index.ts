import { createApp, logger } from "./app";
import { FlagStore } from "./flags";

const port = Number(process.env.PORT ?? 8080);
const store = new FlagStore();
store.upsert({ key: "new-checkout", description: "the redesigned checkout", enabled: true, rollout: 25 });
store.upsert({ key: "dark-mode", description: "dark theme", enabled: true, allow: ["alice"] });
store.upsert({ key: "beta-search", enabled: false });

const server = createApp(store).listen(port, () => {
  logger.info({ port }, "flagd-lite listening");
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
