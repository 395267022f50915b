// The worker's JavaScript entry: hands every request to the Rust `fetch` export.
//
// A wasm trap (a Rust panic under panic=abort) leaves the instance unusable. We answer that
// request with the same JSON error shape as every other failure and reset the instance, so the
// next request starts clean instead of hanging on a poisoned module.
import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";
import * as edge from "./pkg/edgeward.js";

const internalError = () =>
  Response.json(
    { code: "internal", message: "internal error" },
    { status: 500, headers: { "cache-control": "no-store" } },
  );

export default class Edgeward extends WorkerEntrypoint {
  async fetch(request) {
    try {
      return await edge.fetch(request, this.env, this.ctx);
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError) {
        edge.__wbg_reset_state();
      }
      console.error("edgeward: request failed:", error?.name ?? "error");
      return internalError();
    }
  }
}

/**
 * A Durable Object class whose logic is the Rust class `Inner` (exported by the wasm module):
 * requests and alarms go to it; a trap answers with the JSON error shape and starts a fresh
 * instance, as the entry does for the worker.
 */
function durableObject(Inner, what) {
  return class extends DurableObject {
    constructor(ctx, env) {
      super(ctx, env);
      this.inner = new Inner(ctx, env);
    }

    async fetch(request) {
      try {
        return await this.inner.fetch(request);
      } catch (error) {
        if (error instanceof WebAssembly.RuntimeError) {
          edge.__wbg_reset_state();
          this.inner = new Inner(this.ctx, this.env);
        }
        console.error(`edgeward: ${what} failed:`, error?.name ?? "error");
        return internalError();
      }
    }

    async alarm() {
      await this.inner.alarm();
    }
  };
}

// The refresh coordinator, bound as EDGEWARD_REFRESH (edge/worker/src/lib.rs `EdgewardRefresh`).
export const EdgewardRefresh = durableObject(edge.EdgewardRefresh, "refresh coordinator");

// The session registry, bound as EDGEWARD_SESSIONS: back-channel logouts, server-side sessions,
// and its hourly sweep (`EdgewardSessions`).
export const EdgewardSessions = durableObject(edge.EdgewardSessions, "session registry");
