// `wrangler dev` for measurements: the same local runtime (wrangler's dev server in front of
// workerd, the worker built by wrangler.toml's build command), started through wrangler's own
// API with the two development aids that cost CPU on every request turned off: the DevTools
// inspector (it forwards every runtime event of every request to the Node process) and the
// per-request log line (one more call into Node per request). Used by the benchmarks only;
// tests run the CLI exactly as a developer does.
//
// Input (environment): LEAN_PORT, LEAN_PERSIST, LEAN_VARS (JSON object of variables).
import { unstable_startWorker } from "wrangler";

const vars = JSON.parse(process.env.LEAN_VARS || "{}");
const bindings = Object.fromEntries(
  Object.entries(vars).map(([name, value]) => [name, { type: "plain_text", value: String(value) }]),
);
const worker = await unstable_startWorker({
  config: "wrangler.toml",
  bindings,
  dev: {
    remote: false,
    inspector: false,
    logLevel: "warn",
    watch: false,
    liveReload: false,
    persist: process.env.LEAN_PERSIST,
    server: { hostname: "localhost", port: Number(process.env.LEAN_PORT) },
  },
});
await worker.ready;
console.log(`lean wrangler dev ready on ${worker.url ? (await worker.url).href : process.env.LEAN_PORT}`);
const stop = async () => {
  await worker.dispose();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
