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

// The refresh coordinator (wrangler.toml binds it as EDGEWARD_REFRESH): a Durable Object class
// whose logic is the Rust `EdgewardRefresh` (edge/worker/src/lib.rs).
export class EdgewardRefresh extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.inner = new edge.EdgewardRefresh(ctx, env);
  }

  async fetch(request) {
    try {
      return await this.inner.fetch(request);
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError) {
        edge.__wbg_reset_state();
        this.inner = new edge.EdgewardRefresh(this.ctx, this.env);
      }
      console.error("edgeward: refresh coordinator failed:", error?.name ?? "error");
      return internalError();
    }
  }
}

// The session registry (bound as EDGEWARD_SESSIONS): back-channel logouts and the sessions they
// end; its logic is the Rust `EdgewardSessions`.
export class EdgewardSessions extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.inner = new edge.EdgewardSessions(ctx, env);
  }

  async fetch(request) {
    try {
      return await this.inner.fetch(request);
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError) {
        edge.__wbg_reset_state();
        this.inner = new edge.EdgewardSessions(this.ctx, this.env);
      }
      console.error("edgeward: session registry failed:", error?.name ?? "error");
      return internalError();
    }
  }

  // The hourly sweep of what no longer matters (ended sids, old jtis, expired sessions).
  async alarm() {
    await this.inner.alarm();
  }
}
