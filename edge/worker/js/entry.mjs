// The worker's JavaScript entry: hands every request to the Rust `fetch` export and each Durable
// Object's requests to its Rust class, and keeps a wasm trap in one request from breaking any
// other (README "Traps").
//
// A trap (a Rust panic under panic=abort) stops the Rust code where it is, without running its
// destructors: a RefCell can stay borrowed, a task stays half-run. An instance that trapped is
// given no new work. How much else a trap takes with it:
// - An instance of the one compiled module per lane (pkg/edgeward.js is a factory, see
//   scripts/glue-factory.mjs): the worker's fetch (made at startup), EdgewardRefresh and
//   EdgewardSessions (made on their first call). A trap in one lane leaves the others alone.
// - A panic while a request is served (the Rust side names it: edge/worker/src/trap.rs): that
//   request answers the JSON 500 at once; the instance is retired: requests in flight on it
//   finish there, new ones go to a fresh instance, and it is dropped when the last one is done.
// - Any other trap (out-of-bounds memory, stack overflow, an exception thrown through Rust
//   frames, a panic outside any request): its memory may be inconsistent, so nothing runs on it
//   again, and every request in flight on it answers the JSON 500 at once.
import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";
import { instantiate } from "./pkg/edgeward.js";

const internalError = () =>
  Response.json(
    { code: "internal", message: "internal error" },
    { status: 500, headers: { "cache-control": "no-store" } },
  );

/** How long a request may go on, on an instance retired under it, before it answers the 500. */
const DRAIN_MS = 100_000;
/** The token the Rust side serves a Durable Object's alarm with (trap.rs `ALARM`). */
const ALARM = "alarm";
const FAILED = Symbol("failed");
const RETIRED = Symbol("retired");

/** One instance of the wasm module, with the calls in flight on it. */
class Instance {
  constructor(lane) {
    this.lane = lane;
    /** "live"; "retired" (panicked: finishes what it has); "dead" (never entered again). */
    this.state = "live";
    this.calls = new Set();
    this.byToken = new Map();
    this.exports = instantiate((exports) => guard(exports, this));
    this.exports.__edgeward_contain((token) => this.panicked(token));
  }

  begin(token) {
    const call = { token };
    call.failed = new Promise((resolve) => (call.fail = () => resolve(FAILED)));
    call.retired = new Promise((resolve) => (call.retire = () => resolve(RETIRED)));
    this.calls.add(call);
    if (token !== ALARM) this.byToken.set(token, call);
    if (this.state === "retired") call.retire();
    return call;
  }

  end(call) {
    this.calls.delete(call);
    if (this.byToken.get(call.token) === call) this.byToken.delete(call.token);
  }

  /** From the Rust panic hook, just before the trap: which request panicked. */
  panicked(token) {
    const calls = token === ALARM ? [...this.calls].filter((c) => c.token === ALARM) : [this.byToken.get(token)];
    this.panic = { attributed: calls.some(Boolean) };
    for (const call of calls) call?.fail();
  }

  /** From the guard: `error` came out of a call into this instance. */
  threw(error) {
    // The same error passes every guarded frame on its way out.
    if (this.state === "dead" || this.lastError === error) return;
    this.lastError = error;
    const panic = this.panic;
    this.panic = undefined;
    if (panic && (panic.attributed || this.state === "retired")) this.retire();
    else this.kill(error);
  }

  retire() {
    if (this.state === "live") {
      this.state = "retired";
      this.lane.drop(this);
      console.error(
        `edgeward: a Rust panic trapped the ${this.lane.name} wasm instance; ` +
          `${this.calls.size - 1} other request(s) in flight finish on it, new ones go to a fresh instance`,
      );
      for (const call of this.calls) call.retire();
    }
    // The trap cut the executor's run short: start another for the tasks it left queued.
    queueMicrotask(() => this.exports.__edgeward_resume());
  }

  kill(error) {
    this.state = "dead";
    this.lane.drop(this);
    console.error(
      `edgeward: a trap (${error?.name ?? "error"}: ${error?.message ?? ""}) in the ${this.lane.name} ` +
        `wasm instance; it is dropped, and the ${this.calls.size} request(s) in flight on it fail`,
    );
    for (const call of this.calls) call.fail();
  }
}

/**
 * The instance's exports as the glue will call them: an error coming out of one is a trap (or
 * an exception thrown through Rust frames), which `instance` is told of; a dead instance is
 * never entered (what still calls it are callbacks of its own, left over).
 */
function guard(exports, instance) {
  const guarded = {};
  for (const [name, value] of Object.entries(exports)) {
    guarded[name] =
      typeof value !== "function"
        ? value
        : (...args) => {
            if (instance.state === "dead") return undefined;
            try {
              return value(...args);
            } catch (error) {
              instance.threw(error);
              throw error;
            }
          };
  }
  return guarded;
}

/** Where one kind of work runs: its current instance, made when first needed. */
class Lane {
  constructor(name) {
    this.name = name;
    this.live = null;
  }

  current() {
    if (this.live) return this.live;
    const instance = new Instance(this);
    if (instance.state !== "live") throw new Error(`edgeward: a new ${this.name} wasm instance trapped at its start`);
    return (this.live = instance);
  }

  drop(instance) {
    if (this.live === instance) this.live = null;
  }
}

const lanes = {
  worker: new Lane("worker"),
  refresh: new Lane("EdgewardRefresh"),
  sessions: new Lane("EdgewardSessions"),
};
// With the module, as before: the first request does not wait for it.
lanes.worker.current();

/**
 * Runs `start(exports)` on `instance` as the call `token` (the request object, which the Rust
 * side reports a panic with); answers its result, or FAILED when the call trapped (or its
 * instance did, or it outlived DRAIN_MS on a retired instance).
 */
async function serve(instance, token, start) {
  const call = instance.begin(token);
  let timer;
  try {
    const work = start(instance.exports);
    // Answered at once (the Rust side returns no promise when it has the answer on its first
    // poll): no race to run.
    if (!(work instanceof Promise)) return work;
    const outcome = await Promise.race([work, call.failed, call.retired]);
    if (outcome !== RETIRED) return outcome;
    const late = new Promise((resolve) => (timer = setTimeout(() => resolve(FAILED), DRAIN_MS)));
    return await Promise.race([work, call.failed, late]);
  } finally {
    clearTimeout(timer);
    instance.end(call);
  }
}

export default class Edgeward extends WorkerEntrypoint {
  async fetch(request) {
    try {
      const answer = await serve(lanes.worker.current(), request, (rust) => rust.fetch(request, this.env, this.ctx));
      if (answer instanceof Response) return answer;
    } catch (error) {
      console.error("edgeward: request failed:", error?.name ?? "error");
    }
    return internalError();
  }
}

/**
 * A Durable Object class whose logic is the Rust class `className`, on its own lane. The Rust
 * object lives in one instance; after that instance trapped it moves to the lane's current one
 * (a new object: what the old one held in memory is lost) once its calls in flight are done.
 */
function durableObject(lane, className, what) {
  return class extends DurableObject {
    #rust = null;

    #bind() {
      const rust = this.#rust;
      if (rust && (rust.instance.state === "live" || (rust.instance.state === "retired" && rust.busy > 0))) {
        return rust;
      }
      const instance = lane.current();
      const object = new instance.exports[className](this.ctx, this.env);
      return (this.#rust = { instance, object, busy: 0 });
    }

    async #serve(token, start) {
      const rust = this.#bind();
      rust.busy += 1;
      try {
        return await serve(rust.instance, token, () => start(rust.object));
      } finally {
        rust.busy -= 1;
      }
    }

    async fetch(request) {
      try {
        const answer = await this.#serve(request, (object) => object.fetch(request));
        if (answer instanceof Response) return answer;
      } catch (error) {
        console.error(`edgeward: ${what} failed:`, error?.name ?? "error");
      }
      return internalError();
    }

    async alarm() {
      // A failed alarm throws, so the runtime retries it.
      if ((await this.#serve(ALARM, (object) => object.alarm())) === FAILED) {
        throw new Error(`edgeward: ${what}: the alarm trapped`);
      }
    }
  };
}

// The refresh coordinator, bound as EDGEWARD_REFRESH (edge/worker/src/lib.rs `EdgewardRefresh`).
export const EdgewardRefresh = durableObject(lanes.refresh, "EdgewardRefresh", "refresh coordinator");

// The session registry, bound as EDGEWARD_SESSIONS: back-channel logouts, server-side sessions,
// and its hourly sweep (`EdgewardSessions`).
export const EdgewardSessions = durableObject(lanes.sessions, "EdgewardSessions", "session registry");
