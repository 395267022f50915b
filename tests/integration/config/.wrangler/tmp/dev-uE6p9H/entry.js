var __defProp = Object.defineProperty;
var __name = (target, value) => __defProp(target, "name", { value, configurable: true });

// ../../../build/worker/entry.mjs
import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";

// ../../../build/worker/pkg/snippets/worker-64cc4b2d035528c7/inline0.js
var state = globalThis.__worker_init_state = { criticalError: false, instanceId: 0 };

// ../../../build/worker/pkg/edgeward.js
import wasmModule from "./aa0207acf2908c709384c25c3841dcdbae240c1c-edgeward_bg.wasm";
var ContainerStartupOptions = class {
  static {
    __name(this, "ContainerStartupOptions");
  }
  __destroy_into_raw() {
    const ptr = this.__wbg_ptr;
    this.__wbg_ptr = 0;
    ContainerStartupOptionsFinalization.unregister(this);
    return ptr;
  }
  free() {
    const ptr = this.__destroy_into_raw();
    __wbg_call_guard();
    wasm.__wbg_containerstartupoptions_free(ptr, 0);
  }
  /**
   * @returns {boolean | undefined}
   */
  get enableInternet() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.__wbg_get_containerstartupoptions_enableInternet(this.__wbg_ptr);
    return ret === 16777215 ? void 0 : ret !== 0;
  }
  /**
   * @returns {string[]}
   */
  get entrypoint() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.__wbg_get_containerstartupoptions_entrypoint(this.__wbg_ptr);
    var v1 = getArrayJsValueFromWasm0(ret[0], ret[1]);
    wasm.__wbindgen_free(ret[0], ret[1] * 4, 4);
    return v1;
  }
  /**
   * @returns {Map<any, any>}
   */
  get env() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.__wbg_get_containerstartupoptions_env(this.__wbg_ptr);
    return ret;
  }
  /**
   * @param {boolean | null} [arg0]
   */
  set enableInternet(arg0) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    __wbg_call_guard();
    wasm.__wbg_set_containerstartupoptions_enableInternet(this.__wbg_ptr, isLikeNone(arg0) ? 16777215 : arg0 ? 1 : 0);
  }
  /**
   * @param {string[]} arg0
   */
  set entrypoint(arg0) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    const ptr0 = passArrayJsValueToWasm0(arg0, wasm.__wbindgen_malloc);
    const len0 = WASM_VECTOR_LEN;
    __wbg_call_guard();
    wasm.__wbg_set_containerstartupoptions_entrypoint(this.__wbg_ptr, ptr0, len0);
  }
  /**
   * @param {Map<any, any>} arg0
   */
  set env(arg0) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    __wbg_call_guard();
    wasm.__wbg_set_containerstartupoptions_env(this.__wbg_ptr, arg0);
  }
};
if (Symbol.dispose) ContainerStartupOptions.prototype[Symbol.dispose] = ContainerStartupOptions.prototype.free;
var EdgewardRefresh = class {
  static {
    __name(this, "EdgewardRefresh");
  }
  __destroy_into_raw() {
    const ptr = this.__wbg_ptr;
    this.__wbg_ptr = 0;
    EdgewardRefreshFinalization.unregister(this);
    return ptr;
  }
  free() {
    const ptr = this.__destroy_into_raw();
    __wbg_call_guard();
    wasm.__wbg_edgewardrefresh_free(ptr, 0);
  }
  /**
   * @returns {Promise<any>}
   */
  alarm() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.edgewardrefresh_alarm(this.__wbg_ptr);
    return ret;
  }
  /**
   * @param {any} socket
   * @returns {Promise<any>}
   */
  connect(socket) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.edgewardrefresh_connect(this.__wbg_ptr, socket);
    return ret;
  }
  /**
   * @param {Request} req
   * @returns {Promise<any>}
   */
  fetch(req) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.edgewardrefresh_fetch(this.__wbg_ptr, req);
    return ret;
  }
  /**
   * @param {any} state
   * @param {any} env
   */
  constructor(state2, env) {
    let ret;
    __wbg_call_guard();
    ret = wasm.edgewardrefresh_new(state2, env);
    this.__wbg_ptr = ret;
    Object.defineProperty(this, "__wbg_inst", { value: __wbg_instance_id, writable: true });
    EdgewardRefreshFinalization.register(this, { ptr: ret, instance: __wbg_instance_id }, this);
    return this;
  }
  /**
   * @param {WebSocket} ws
   * @param {number} code
   * @param {string} reason
   * @param {boolean} was_clean
   * @returns {Promise<any>}
   */
  webSocketClose(ws, code, reason, was_clean) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    const val2 = +code;
    const val3 = +was_clean;
    const ptr0 = passStringToWasm0(reason, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
    const len0 = WASM_VECTOR_LEN;
    let ret;
    __wbg_call_guard();
    ret = wasm.edgewardrefresh_webSocketClose(this.__wbg_ptr, ws, val2, ptr0, len0, val3);
    return ret;
  }
  /**
   * @param {WebSocket} ws
   * @param {any} error
   * @returns {Promise<any>}
   */
  webSocketError(ws, error) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.edgewardrefresh_webSocketError(this.__wbg_ptr, ws, error);
    return ret;
  }
  /**
   * @param {WebSocket} ws
   * @param {any} message
   * @returns {Promise<any>}
   */
  webSocketMessage(ws, message) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.edgewardrefresh_webSocketMessage(this.__wbg_ptr, ws, message);
    return ret;
  }
};
if (Symbol.dispose) EdgewardRefresh.prototype[Symbol.dispose] = EdgewardRefresh.prototype.free;
var EdgewardSessions = class {
  static {
    __name(this, "EdgewardSessions");
  }
  __destroy_into_raw() {
    const ptr = this.__wbg_ptr;
    this.__wbg_ptr = 0;
    EdgewardSessionsFinalization.unregister(this);
    return ptr;
  }
  free() {
    const ptr = this.__destroy_into_raw();
    __wbg_call_guard();
    wasm.__wbg_edgewardsessions_free(ptr, 0);
  }
  /**
   * @returns {Promise<any>}
   */
  alarm() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.edgewardsessions_alarm(this.__wbg_ptr);
    return ret;
  }
  /**
   * @param {any} socket
   * @returns {Promise<any>}
   */
  connect(socket) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.edgewardsessions_connect(this.__wbg_ptr, socket);
    return ret;
  }
  /**
   * @param {Request} req
   * @returns {Promise<any>}
   */
  fetch(req) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.edgewardsessions_fetch(this.__wbg_ptr, req);
    return ret;
  }
  /**
   * @param {any} state
   * @param {any} env
   */
  constructor(state2, env) {
    let ret;
    __wbg_call_guard();
    ret = wasm.edgewardsessions_new(state2, env);
    this.__wbg_ptr = ret;
    Object.defineProperty(this, "__wbg_inst", { value: __wbg_instance_id, writable: true });
    EdgewardSessionsFinalization.register(this, { ptr: ret, instance: __wbg_instance_id }, this);
    return this;
  }
  /**
   * @param {WebSocket} ws
   * @param {number} code
   * @param {string} reason
   * @param {boolean} was_clean
   * @returns {Promise<any>}
   */
  webSocketClose(ws, code, reason, was_clean) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    const val2 = +code;
    const val3 = +was_clean;
    const ptr0 = passStringToWasm0(reason, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
    const len0 = WASM_VECTOR_LEN;
    let ret;
    __wbg_call_guard();
    ret = wasm.edgewardsessions_webSocketClose(this.__wbg_ptr, ws, val2, ptr0, len0, val3);
    return ret;
  }
  /**
   * @param {WebSocket} ws
   * @param {any} error
   * @returns {Promise<any>}
   */
  webSocketError(ws, error) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.edgewardsessions_webSocketError(this.__wbg_ptr, ws, error);
    return ret;
  }
  /**
   * @param {WebSocket} ws
   * @param {any} message
   * @returns {Promise<any>}
   */
  webSocketMessage(ws, message) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.edgewardsessions_webSocketMessage(this.__wbg_ptr, ws, message);
    return ret;
  }
};
if (Symbol.dispose) EdgewardSessions.prototype[Symbol.dispose] = EdgewardSessions.prototype.free;
var IntoUnderlyingByteSource = class {
  static {
    __name(this, "IntoUnderlyingByteSource");
  }
  __destroy_into_raw() {
    const ptr = this.__wbg_ptr;
    this.__wbg_ptr = 0;
    IntoUnderlyingByteSourceFinalization.unregister(this);
    return ptr;
  }
  free() {
    const ptr = this.__destroy_into_raw();
    __wbg_call_guard();
    wasm.__wbg_intounderlyingbytesource_free(ptr, 0);
  }
  /**
   * @returns {number}
   */
  get autoAllocateChunkSize() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.intounderlyingbytesource_autoAllocateChunkSize(this.__wbg_ptr);
    return ret >>> 0;
  }
  cancel() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    const ptr = this.__destroy_into_raw();
    __wbg_call_guard();
    wasm.intounderlyingbytesource_cancel(ptr);
  }
  /**
   * @param {ReadableByteStreamController} controller
   * @returns {Promise<any>}
   */
  pull(controller) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.intounderlyingbytesource_pull(this.__wbg_ptr, controller);
    return ret;
  }
  /**
   * @param {ReadableByteStreamController} controller
   */
  start(controller) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    __wbg_call_guard();
    wasm.intounderlyingbytesource_start(this.__wbg_ptr, controller);
  }
  /**
   * @returns {ReadableStreamType}
   */
  get type() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.intounderlyingbytesource_type(this.__wbg_ptr);
    return __wbindgen_enum_ReadableStreamType[ret];
  }
};
if (Symbol.dispose) IntoUnderlyingByteSource.prototype[Symbol.dispose] = IntoUnderlyingByteSource.prototype.free;
var IntoUnderlyingSink = class {
  static {
    __name(this, "IntoUnderlyingSink");
  }
  __destroy_into_raw() {
    const ptr = this.__wbg_ptr;
    this.__wbg_ptr = 0;
    IntoUnderlyingSinkFinalization.unregister(this);
    return ptr;
  }
  free() {
    const ptr = this.__destroy_into_raw();
    __wbg_call_guard();
    wasm.__wbg_intounderlyingsink_free(ptr, 0);
  }
  /**
   * @param {any} reason
   * @returns {Promise<any>}
   */
  abort(reason) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    const ptr = this.__destroy_into_raw();
    let ret;
    __wbg_call_guard();
    ret = wasm.intounderlyingsink_abort(ptr, reason);
    return ret;
  }
  /**
   * @returns {Promise<any>}
   */
  close() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    const ptr = this.__destroy_into_raw();
    let ret;
    __wbg_call_guard();
    ret = wasm.intounderlyingsink_close(ptr);
    return ret;
  }
  /**
   * @param {any} chunk
   * @returns {Promise<any>}
   */
  write(chunk) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.intounderlyingsink_write(this.__wbg_ptr, chunk);
    return ret;
  }
};
if (Symbol.dispose) IntoUnderlyingSink.prototype[Symbol.dispose] = IntoUnderlyingSink.prototype.free;
var IntoUnderlyingSource = class {
  static {
    __name(this, "IntoUnderlyingSource");
  }
  __destroy_into_raw() {
    const ptr = this.__wbg_ptr;
    this.__wbg_ptr = 0;
    IntoUnderlyingSourceFinalization.unregister(this);
    return ptr;
  }
  free() {
    const ptr = this.__destroy_into_raw();
    __wbg_call_guard();
    wasm.__wbg_intounderlyingsource_free(ptr, 0);
  }
  cancel() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    const ptr = this.__destroy_into_raw();
    __wbg_call_guard();
    wasm.intounderlyingsource_cancel(ptr);
  }
  /**
   * @param {ReadableStreamDefaultController} controller
   * @returns {Promise<any>}
   */
  pull(controller) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.intounderlyingsource_pull(this.__wbg_ptr, controller);
    return ret;
  }
};
if (Symbol.dispose) IntoUnderlyingSource.prototype[Symbol.dispose] = IntoUnderlyingSource.prototype.free;
var MinifyConfig = class _MinifyConfig {
  static {
    __name(this, "MinifyConfig");
  }
  static __wrap(ptr) {
    const obj = Object.create(_MinifyConfig.prototype);
    obj.__wbg_ptr = ptr;
    Object.defineProperty(obj, "__wbg_inst", { value: __wbg_instance_id, writable: true });
    MinifyConfigFinalization.register(obj, { ptr, instance: __wbg_instance_id }, obj);
    return obj;
  }
  __destroy_into_raw() {
    const ptr = this.__wbg_ptr;
    this.__wbg_ptr = 0;
    MinifyConfigFinalization.unregister(this);
    return ptr;
  }
  free() {
    const ptr = this.__destroy_into_raw();
    __wbg_call_guard();
    wasm.__wbg_minifyconfig_free(ptr, 0);
  }
  /**
   * @returns {boolean}
   */
  get css() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.__wbg_get_minifyconfig_css(this.__wbg_ptr);
    return ret !== 0;
  }
  /**
   * @returns {boolean}
   */
  get html() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.__wbg_get_minifyconfig_html(this.__wbg_ptr);
    return ret !== 0;
  }
  /**
   * @returns {boolean}
   */
  get js() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.__wbg_get_minifyconfig_js(this.__wbg_ptr);
    return ret !== 0;
  }
  /**
   * @param {boolean} arg0
   */
  set css(arg0) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    __wbg_call_guard();
    wasm.__wbg_set_minifyconfig_css(this.__wbg_ptr, arg0);
  }
  /**
   * @param {boolean} arg0
   */
  set html(arg0) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    __wbg_call_guard();
    wasm.__wbg_set_minifyconfig_html(this.__wbg_ptr, arg0);
  }
  /**
   * @param {boolean} arg0
   */
  set js(arg0) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    __wbg_call_guard();
    wasm.__wbg_set_minifyconfig_js(this.__wbg_ptr, arg0);
  }
};
if (Symbol.dispose) MinifyConfig.prototype[Symbol.dispose] = MinifyConfig.prototype.free;
var R2Range = class {
  static {
    __name(this, "R2Range");
  }
  __destroy_into_raw() {
    const ptr = this.__wbg_ptr;
    this.__wbg_ptr = 0;
    R2RangeFinalization.unregister(this);
    return ptr;
  }
  free() {
    const ptr = this.__destroy_into_raw();
    __wbg_call_guard();
    wasm.__wbg_r2range_free(ptr, 0);
  }
  /**
   * @returns {number | undefined}
   */
  get length() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.__wbg_get_r2range_length(this.__wbg_ptr);
    return ret[0] === 0 ? void 0 : ret[1];
  }
  /**
   * @returns {number | undefined}
   */
  get offset() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.__wbg_get_r2range_offset(this.__wbg_ptr);
    return ret[0] === 0 ? void 0 : ret[1];
  }
  /**
   * @returns {number | undefined}
   */
  get suffix() {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    let ret;
    __wbg_call_guard();
    ret = wasm.__wbg_get_r2range_suffix(this.__wbg_ptr);
    return ret[0] === 0 ? void 0 : ret[1];
  }
  /**
   * @param {number | null} [arg0]
   */
  set length(arg0) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    __wbg_call_guard();
    wasm.__wbg_set_r2range_length(this.__wbg_ptr, !isLikeNone(arg0), isLikeNone(arg0) ? 0 : arg0);
  }
  /**
   * @param {number | null} [arg0]
   */
  set offset(arg0) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    __wbg_call_guard();
    wasm.__wbg_set_r2range_offset(this.__wbg_ptr, !isLikeNone(arg0), isLikeNone(arg0) ? 0 : arg0);
  }
  /**
   * @param {number | null} [arg0]
   */
  set suffix(arg0) {
    if (this.__wbg_inst !== void 0 && this.__wbg_inst !== __wbg_instance_id) {
      throw new Error("Invalid stale object from previous Wasm instance");
    }
    __wbg_call_guard();
    wasm.__wbg_set_r2range_suffix(this.__wbg_ptr, !isLikeNone(arg0), isLikeNone(arg0) ? 0 : arg0);
  }
};
if (Symbol.dispose) R2Range.prototype[Symbol.dispose] = R2Range.prototype.free;
function __wbg_reset_state() {
  __wbg_instance_id++;
  cachedDataViewMemory0 = null;
  cachedUint8ArrayMemory0 = null;
  if (typeof numBytesDecoded !== "undefined") numBytesDecoded = 0;
  if (typeof WASM_VECTOR_LEN !== "undefined") WASM_VECTOR_LEN = 0;
  __wbg_reinit_scheduled = false;
  wasmInstance = new WebAssembly.Instance(wasmModule, __wbg_get_imports());
  wasm = wasmInstance.exports;
  wasm.__wbindgen_start();
}
__name(__wbg_reset_state, "__wbg_reset_state");
function fetch(req, env, ctx) {
  let ret;
  __wbg_call_guard();
  ret = wasm.fetch(req, env, ctx);
  return ret;
}
__name(fetch, "fetch");
function __wbg_get_imports() {
  const import0 = {
    __proto__: null,
    __wbg_Error_208446807d0d1e30: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = Error(getStringFromWasm0(arg0, arg1));
      return ret;
    }, "__wbg_Error_208446807d0d1e30"),
    __wbg_String_8564e559799eccda: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = String(arg1);
      const ptr1 = passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
      const len1 = WASM_VECTOR_LEN;
      getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
      getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
    }, "__wbg_String_8564e559799eccda"),
    __wbg___wbindgen_bigint_get_as_i64_11da4b52cd0aedef: /* @__PURE__ */ __name(function(arg0, arg1) {
      const v = arg1;
      const ret = typeof v === "bigint" ? v : void 0;
      getDataViewMemory0().setBigInt64((arg0 >>> 0) + 8 * 1, isLikeNone(ret) ? BigInt(0) : ret, true);
      getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, !isLikeNone(ret), true);
    }, "__wbg___wbindgen_bigint_get_as_i64_11da4b52cd0aedef"),
    __wbg___wbindgen_boolean_get_4f1baf9a00be3c74: /* @__PURE__ */ __name(function(arg0) {
      const v = arg0;
      const ret = typeof v === "boolean" ? v : void 0;
      return isLikeNone(ret) ? 16777215 : ret ? 1 : 0;
    }, "__wbg___wbindgen_boolean_get_4f1baf9a00be3c74"),
    __wbg___wbindgen_debug_string_f249a2a76caa9a55: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = debugString(arg1);
      const ptr1 = passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
      const len1 = WASM_VECTOR_LEN;
      getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
      getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
    }, "__wbg___wbindgen_debug_string_f249a2a76caa9a55"),
    __wbg___wbindgen_in_3f58a9d3b3a7eed2: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = arg0 in arg1;
      return ret;
    }, "__wbg___wbindgen_in_3f58a9d3b3a7eed2"),
    __wbg___wbindgen_is_bigint_5fa10641e039d3ef: /* @__PURE__ */ __name(function(arg0) {
      const ret = typeof arg0 === "bigint";
      return ret;
    }, "__wbg___wbindgen_is_bigint_5fa10641e039d3ef"),
    __wbg___wbindgen_is_function_741ff2bb612836f5: /* @__PURE__ */ __name(function(arg0) {
      const ret = typeof arg0 === "function";
      return ret;
    }, "__wbg___wbindgen_is_function_741ff2bb612836f5"),
    __wbg___wbindgen_is_null_or_undefined_fb96af93c75460ae: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0 == null;
      return ret;
    }, "__wbg___wbindgen_is_null_or_undefined_fb96af93c75460ae"),
    __wbg___wbindgen_is_object_8b968c3ab8e96595: /* @__PURE__ */ __name(function(arg0) {
      const val = arg0;
      const ret = typeof val === "object" && val !== null;
      return ret;
    }, "__wbg___wbindgen_is_object_8b968c3ab8e96595"),
    __wbg___wbindgen_is_string_fc456fee5d3317de: /* @__PURE__ */ __name(function(arg0) {
      const ret = typeof arg0 === "string";
      return ret;
    }, "__wbg___wbindgen_is_string_fc456fee5d3317de"),
    __wbg___wbindgen_is_undefined_be5b34249ff1fc15: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0 === void 0;
      return ret;
    }, "__wbg___wbindgen_is_undefined_be5b34249ff1fc15"),
    __wbg___wbindgen_jsval_eq_38d7bfbe4cc84039: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = arg0 === arg1;
      return ret;
    }, "__wbg___wbindgen_jsval_eq_38d7bfbe4cc84039"),
    __wbg___wbindgen_jsval_loose_eq_b2f214e2e4b30e36: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = arg0 == arg1;
      return ret;
    }, "__wbg___wbindgen_jsval_loose_eq_b2f214e2e4b30e36"),
    __wbg___wbindgen_number_get_934b640d0889af78: /* @__PURE__ */ __name(function(arg0, arg1) {
      const obj = arg1;
      const ret = typeof obj === "number" ? obj : void 0;
      getDataViewMemory0().setFloat64((arg0 >>> 0) + 8 * 1, isLikeNone(ret) ? 0 : ret, true);
      getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, !isLikeNone(ret), true);
    }, "__wbg___wbindgen_number_get_934b640d0889af78"),
    __wbg___wbindgen_reinit_2fe0d0b9c1cc3c21: /* @__PURE__ */ __name(function() {
      __wbg_reinit_scheduled = true;
    }, "__wbg___wbindgen_reinit_2fe0d0b9c1cc3c21"),
    __wbg___wbindgen_string_get_7ce8eee7fd327545: /* @__PURE__ */ __name(function(arg0, arg1) {
      const obj = arg1;
      const ret = typeof obj === "string" ? obj : void 0;
      var ptr1 = isLikeNone(ret) ? 0 : passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
      var len1 = WASM_VECTOR_LEN;
      getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
      getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
    }, "__wbg___wbindgen_string_get_7ce8eee7fd327545"),
    __wbg___wbindgen_throw_4c88d8bf264fd984: /* @__PURE__ */ __name(function(arg0, arg1) {
      throw new Error(getStringFromWasm0(arg0, arg1));
    }, "__wbg___wbindgen_throw_4c88d8bf264fd984"),
    __wbg__wbg_cb_unref_09736879a3f67559: /* @__PURE__ */ __name(function(arg0) {
      arg0._wbg_cb_unref();
    }, "__wbg__wbg_cb_unref_09736879a3f67559"),
    __wbg_abort_f8d1589eb0c65ee2: /* @__PURE__ */ __name(function(arg0) {
      arg0.abort();
    }, "__wbg_abort_f8d1589eb0c65ee2"),
    __wbg_append_ba9a4dc30a0323fd: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1, arg2, arg3, arg4) {
        arg0.append(getStringFromWasm0(arg1, arg2), getStringFromWasm0(arg3, arg4));
      }, arguments);
    }, "__wbg_append_ba9a4dc30a0323fd"),
    __wbg_arrayBuffer_39a766224696fd9d: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0) {
        const ret = arg0.arrayBuffer();
        return ret;
      }, arguments);
    }, "__wbg_arrayBuffer_39a766224696fd9d"),
    __wbg_body_0da01a9a056907d8: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.body;
      return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
    }, "__wbg_body_0da01a9a056907d8"),
    __wbg_body_b86ad4fe78cc379c: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.body;
      return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
    }, "__wbg_body_b86ad4fe78cc379c"),
    __wbg_buffer_aca05a93c046db1a: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.buffer;
      return ret;
    }, "__wbg_buffer_aca05a93c046db1a"),
    __wbg_byobRequest_18280c78e462544c: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.byobRequest;
      return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
    }, "__wbg_byobRequest_18280c78e462544c"),
    __wbg_byteLength_c5f3c188d5252e5b: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.byteLength;
      return ret;
    }, "__wbg_byteLength_c5f3c188d5252e5b"),
    __wbg_byteOffset_63cdc7b38f33a45e: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.byteOffset;
      return ret;
    }, "__wbg_byteOffset_63cdc7b38f33a45e"),
    __wbg_caches_3ab34aa0ec453ad4: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0) {
        const ret = arg0.caches;
        return ret;
      }, arguments);
    }, "__wbg_caches_3ab34aa0ec453ad4"),
    __wbg_call_40b008ba32f73991: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1) {
        const ret = arg0.call(arg1);
        return ret;
      }, arguments);
    }, "__wbg_call_40b008ba32f73991"),
    __wbg_call_a410eb4b59ed5965: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1, arg2) {
        const ret = arg0.call(arg1, arg2);
        return ret;
      }, arguments);
    }, "__wbg_call_a410eb4b59ed5965"),
    __wbg_cancel_b195250778e9d8e7: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.cancel();
      return ret;
    }, "__wbg_cancel_b195250778e9d8e7"),
    __wbg_catch_fd4c7ea14fde9d83: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = arg0.catch(arg1);
      return ret;
    }, "__wbg_catch_fd4c7ea14fde9d83"),
    __wbg_cause_4cdda1b55a30b227: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.cause;
      return ret;
    }, "__wbg_cause_4cdda1b55a30b227"),
    __wbg_cf_3eef96d446a499c0: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0) {
        const ret = arg0.cf;
        return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
      }, arguments);
    }, "__wbg_cf_3eef96d446a499c0"),
    __wbg_cf_e4bf1d08e9961dec: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0) {
        const ret = arg0.cf;
        return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
      }, arguments);
    }, "__wbg_cf_e4bf1d08e9961dec"),
    __wbg_clearTimeout_d859c3fbfd863ce7: /* @__PURE__ */ __name(function(arg0, arg1) {
      arg0.clearTimeout(arg1);
    }, "__wbg_clearTimeout_d859c3fbfd863ce7"),
    __wbg_clone_a0934ceb1865184d: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0) {
        const ret = arg0.clone();
        return ret;
      }, arguments);
    }, "__wbg_clone_a0934ceb1865184d"),
    __wbg_close_294d3f727cb7a844: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0) {
        arg0.close();
      }, arguments);
    }, "__wbg_close_294d3f727cb7a844"),
    __wbg_close_bf94aa7e38b9a94b: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0) {
        arg0.close();
      }, arguments);
    }, "__wbg_close_bf94aa7e38b9a94b"),
    __wbg_constructor_76ad3e2c50d259de: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.constructor;
      return ret;
    }, "__wbg_constructor_76ad3e2c50d259de"),
    __wbg_crypto_23f565a907d30078: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.crypto;
      return ret;
    }, "__wbg_crypto_23f565a907d30078"),
    __wbg_delete_02b19cd8c3008b9a: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1, arg2) {
        const ret = arg0.delete(getStringFromWasm0(arg1, arg2));
        return ret;
      }, arguments);
    }, "__wbg_delete_02b19cd8c3008b9a"),
    __wbg_delete_3b3c4df377d75dd9: /* @__PURE__ */ __name(function(arg0, arg1, arg2) {
      const ret = arg0.delete(arg1, arg2);
      return ret;
    }, "__wbg_delete_3b3c4df377d75dd9"),
    __wbg_delete_da976cafe023ca05: /* @__PURE__ */ __name(function(arg0, arg1, arg2, arg3) {
      const ret = arg0.delete(getStringFromWasm0(arg1, arg2), arg3);
      return ret;
    }, "__wbg_delete_da976cafe023ca05"),
    __wbg_done_57e08d0be6e30c02: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.done;
      return ret;
    }, "__wbg_done_57e08d0be6e30c02"),
    __wbg_enqueue_c11626eae1c54509: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1) {
        arg0.enqueue(arg1);
      }, arguments);
    }, "__wbg_enqueue_c11626eae1c54509"),
    __wbg_entries_54196278ac45dd71: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.entries();
      return ret;
    }, "__wbg_entries_54196278ac45dd71"),
    __wbg_entries_7bb1459bd9b5c2b9: /* @__PURE__ */ __name(function(arg0) {
      const ret = Object.entries(arg0);
      return ret;
    }, "__wbg_entries_7bb1459bd9b5c2b9"),
    __wbg_entries_fb0b3ba27a6e0bf7: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.entries();
      return ret;
    }, "__wbg_entries_fb0b3ba27a6e0bf7"),
    __wbg_error_9b95f63d905893d2: /* @__PURE__ */ __name(function(arg0, arg1) {
      console.error(arg0, arg1);
    }, "__wbg_error_9b95f63d905893d2"),
    __wbg_error_d1fc0193610e0e39: /* @__PURE__ */ __name(function(arg0) {
      console.error(arg0);
    }, "__wbg_error_d1fc0193610e0e39"),
    __wbg_fetch_58e62838507dad34: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1) {
        const ret = arg0.fetch(arg1);
        return ret;
      }, arguments);
    }, "__wbg_fetch_58e62838507dad34"),
    __wbg_fetch_8991a6a8ea67c83b: /* @__PURE__ */ __name(function(arg0, arg1, arg2, arg3) {
      const ret = arg0.fetch(getStringFromWasm0(arg1, arg2), arg3);
      return ret;
    }, "__wbg_fetch_8991a6a8ea67c83b"),
    __wbg_fetch_a416b432a33cc077: /* @__PURE__ */ __name(function(arg0, arg1, arg2) {
      const ret = arg0.fetch(arg1, arg2);
      return ret;
    }, "__wbg_fetch_a416b432a33cc077"),
    __wbg_getAlarm_276dab0d75e33652: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1) {
        const ret = arg0.getAlarm(arg1);
        return ret;
      }, arguments);
    }, "__wbg_getAlarm_276dab0d75e33652"),
    __wbg_getRandomValues_d2908e0b99612b91: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1) {
        arg0.getRandomValues(arg1);
      }, arguments);
    }, "__wbg_getRandomValues_d2908e0b99612b91"),
    __wbg_getReader_3b3096cf504fce5e: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0) {
        const ret = arg0.getReader();
        return ret;
      }, arguments);
    }, "__wbg_getReader_3b3096cf504fce5e"),
    __wbg_getTime_edc91481cbc4cd78: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.getTime();
      return ret;
    }, "__wbg_getTime_edc91481cbc4cd78"),
    __wbg_get_0ae635d02d232017: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1) {
        const ret = Reflect.get(arg0, arg1);
        return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
      }, arguments);
    }, "__wbg_get_0ae635d02d232017"),
    __wbg_get_2080c49015e35254: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1) {
        const ret = Reflect.get(arg0, arg1);
        return ret;
      }, arguments);
    }, "__wbg_get_2080c49015e35254"),
    __wbg_get_4d87e704eb410caa: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1) {
        const ret = arg0.get(arg1);
        return ret;
      }, arguments);
    }, "__wbg_get_4d87e704eb410caa"),
    __wbg_get_635eea311fa1a291: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1) {
        const ret = Reflect.get(arg0, arg1);
        return ret;
      }, arguments);
    }, "__wbg_get_635eea311fa1a291"),
    __wbg_get_d50e09af39626749: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1, arg2) {
        const ret = arg0.get(getStringFromWasm0(arg1, arg2));
        return ret;
      }, arguments);
    }, "__wbg_get_d50e09af39626749"),
    __wbg_get_d7176cfb76d71114: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = arg0[arg1 >>> 0];
      return ret;
    }, "__wbg_get_d7176cfb76d71114"),
    __wbg_get_done_3bf2b4a34e149301: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.done;
      return isLikeNone(ret) ? 16777215 : ret ? 1 : 0;
    }, "__wbg_get_done_3bf2b4a34e149301"),
    __wbg_get_unchecked_e6325ad374eff861: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = arg0[arg1 >>> 0];
      return ret;
    }, "__wbg_get_unchecked_e6325ad374eff861"),
    __wbg_get_value_9454480da7066d61: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.value;
      return ret;
    }, "__wbg_get_value_9454480da7066d61"),
    __wbg_headers_5fc0106c076eb731: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.headers;
      return ret;
    }, "__wbg_headers_5fc0106c076eb731"),
    __wbg_headers_9ef80dd266706f48: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.headers;
      return ret;
    }, "__wbg_headers_9ef80dd266706f48"),
    __wbg_idFromName_8e1943d73c953e77: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1, arg2) {
        const ret = arg0.idFromName(getStringFromWasm0(arg1, arg2));
        return ret;
      }, arguments);
    }, "__wbg_idFromName_8e1943d73c953e77"),
    __wbg_importKey_dffa85a08f1b105a: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1, arg2, arg3, arg4, arg5, arg6) {
        const ret = arg0.importKey(getStringFromWasm0(arg1, arg2), arg3, arg4, arg5 !== 0, arg6);
        return ret;
      }, arguments);
    }, "__wbg_importKey_dffa85a08f1b105a"),
    __wbg_instanceId_65a51bedfd10160a: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.instanceId;
      return ret;
    }, "__wbg_instanceId_65a51bedfd10160a"),
    __wbg_instanceof_ArrayBuffer_12cdaa4161423e6b: /* @__PURE__ */ __name(function(arg0) {
      let result;
      try {
        result = arg0 instanceof ArrayBuffer;
      } catch (_) {
        result = false;
      }
      const ret = result;
      return ret;
    }, "__wbg_instanceof_ArrayBuffer_12cdaa4161423e6b"),
    __wbg_instanceof_CryptoKey_50c903e21f76ad93: /* @__PURE__ */ __name(function(arg0) {
      let result;
      try {
        result = arg0 instanceof CryptoKey;
      } catch (_) {
        result = false;
      }
      const ret = result;
      return ret;
    }, "__wbg_instanceof_CryptoKey_50c903e21f76ad93"),
    __wbg_instanceof_Error_74e3cca0c4a69161: /* @__PURE__ */ __name(function(arg0) {
      let result;
      try {
        result = arg0 instanceof Error;
      } catch (_) {
        result = false;
      }
      const ret = result;
      return ret;
    }, "__wbg_instanceof_Error_74e3cca0c4a69161"),
    __wbg_instanceof_Map_0b4fc8b62e73f163: /* @__PURE__ */ __name(function(arg0) {
      let result;
      try {
        result = arg0 instanceof Map;
      } catch (_) {
        result = false;
      }
      const ret = result;
      return ret;
    }, "__wbg_instanceof_Map_0b4fc8b62e73f163"),
    __wbg_instanceof_Object_97e16a01fd368661: /* @__PURE__ */ __name(function(arg0) {
      let result;
      try {
        result = arg0 instanceof Object;
      } catch (_) {
        result = false;
      }
      const ret = result;
      return ret;
    }, "__wbg_instanceof_Object_97e16a01fd368661"),
    __wbg_instanceof_ReadableStream_ac28304925ec0f96: /* @__PURE__ */ __name(function(arg0) {
      let result;
      try {
        result = arg0 instanceof ReadableStream;
      } catch (_) {
        result = false;
      }
      const ret = result;
      return ret;
    }, "__wbg_instanceof_ReadableStream_ac28304925ec0f96"),
    __wbg_instanceof_Response_5b0b4f7f1daeae51: /* @__PURE__ */ __name(function(arg0) {
      let result;
      try {
        result = arg0 instanceof Response;
      } catch (_) {
        result = false;
      }
      const ret = result;
      return ret;
    }, "__wbg_instanceof_Response_5b0b4f7f1daeae51"),
    __wbg_instanceof_SubtleCrypto_72dd685a107b4b5f: /* @__PURE__ */ __name(function(arg0) {
      let result;
      try {
        result = arg0 instanceof SubtleCrypto;
      } catch (_) {
        result = false;
      }
      const ret = result;
      return ret;
    }, "__wbg_instanceof_SubtleCrypto_72dd685a107b4b5f"),
    __wbg_instanceof_Uint8Array_d7aeb0dcb3108fea: /* @__PURE__ */ __name(function(arg0) {
      let result;
      try {
        result = arg0 instanceof Uint8Array;
      } catch (_) {
        result = false;
      }
      const ret = result;
      return ret;
    }, "__wbg_instanceof_Uint8Array_d7aeb0dcb3108fea"),
    __wbg_isArray_bcf1376d0d732d08: /* @__PURE__ */ __name(function(arg0) {
      const ret = Array.isArray(arg0);
      return ret;
    }, "__wbg_isArray_bcf1376d0d732d08"),
    __wbg_isSafeInteger_1a35ba4d31e71d38: /* @__PURE__ */ __name(function(arg0) {
      const ret = Number.isSafeInteger(arg0);
      return ret;
    }, "__wbg_isSafeInteger_1a35ba4d31e71d38"),
    __wbg_iterator_e4c5e8f68ada7b58: /* @__PURE__ */ __name(function() {
      const ret = Symbol.iterator;
      return ret;
    }, "__wbg_iterator_e4c5e8f68ada7b58"),
    __wbg_json_69a74e9055460dab: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0) {
        const ret = arg0.json();
        return ret;
      }, arguments);
    }, "__wbg_json_69a74e9055460dab"),
    __wbg_keys_296846770c088f87: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.keys();
      return ret;
    }, "__wbg_keys_296846770c088f87"),
    __wbg_length_186163212ffe79c3: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.length;
      return ret;
    }, "__wbg_length_186163212ffe79c3"),
    __wbg_length_b03a0fabb109b1e9: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.length;
      return ret;
    }, "__wbg_length_b03a0fabb109b1e9"),
    __wbg_list_44b1387042672157: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1) {
        const ret = arg0.list(arg1);
        return ret;
      }, arguments);
    }, "__wbg_list_44b1387042672157"),
    __wbg_log_ff86bbb34c295e21: /* @__PURE__ */ __name(function(arg0) {
      console.log(arg0);
    }, "__wbg_log_ff86bbb34c295e21"),
    __wbg_match_1a1e8c79dea6b61b: /* @__PURE__ */ __name(function(arg0, arg1, arg2, arg3) {
      const ret = arg0.match(getStringFromWasm0(arg1, arg2), arg3);
      return ret;
    }, "__wbg_match_1a1e8c79dea6b61b"),
    __wbg_match_a35da85c9e58b198: /* @__PURE__ */ __name(function(arg0, arg1, arg2) {
      const ret = arg0.match(arg1, arg2);
      return ret;
    }, "__wbg_match_a35da85c9e58b198"),
    __wbg_message_43d8c8f1d543a349: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.message;
      return ret;
    }, "__wbg_message_43d8c8f1d543a349"),
    __wbg_method_3d406ebab4dd9853: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = arg1.method;
      const ptr1 = passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
      const len1 = WASM_VECTOR_LEN;
      getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
      getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
    }, "__wbg_method_3d406ebab4dd9853"),
    __wbg_minifyconfig_new: /* @__PURE__ */ __name(function(arg0) {
      const ret = MinifyConfig.__wrap(arg0);
      return ret;
    }, "__wbg_minifyconfig_new"),
    __wbg_msCrypto_d5f06fad6bf1409b: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.msCrypto;
      return ret;
    }, "__wbg_msCrypto_d5f06fad6bf1409b"),
    __wbg_name_d1fa514fdca6a975: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.name;
      return ret;
    }, "__wbg_name_d1fa514fdca6a975"),
    __wbg_name_fd11f69c917c5670: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.name;
      return ret;
    }, "__wbg_name_fd11f69c917c5670"),
    __wbg_new_0_36d738a0c8cfac43: /* @__PURE__ */ __name(function() {
      const ret = /* @__PURE__ */ new Date();
      return ret;
    }, "__wbg_new_0_36d738a0c8cfac43"),
    __wbg_new_13de428334042d26: /* @__PURE__ */ __name(function(arg0) {
      const ret = new Uint8Array(arg0);
      return ret;
    }, "__wbg_new_13de428334042d26"),
    __wbg_new_277c27c26f94cbc2: /* @__PURE__ */ __name(function() {
      return handleError(function() {
        const ret = new Headers();
        return ret;
      }, arguments);
    }, "__wbg_new_277c27c26f94cbc2"),
    __wbg_new_3e95cd7386bb9a6c: /* @__PURE__ */ __name(function(arg0) {
      const ret = new Date(arg0);
      return ret;
    }, "__wbg_new_3e95cd7386bb9a6c"),
    __wbg_new_5f28518387ad0e34: /* @__PURE__ */ __name(function() {
      return handleError(function() {
        const ret = new AbortController();
        return ret;
      }, arguments);
    }, "__wbg_new_5f28518387ad0e34"),
    __wbg_new_7075786089b89c5e: /* @__PURE__ */ __name(function() {
      const ret = /* @__PURE__ */ new Map();
      return ret;
    }, "__wbg_new_7075786089b89c5e"),
    __wbg_new_787b9fb330d55d78: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = new Error(getStringFromWasm0(arg0, arg1));
      return ret;
    }, "__wbg_new_787b9fb330d55d78"),
    __wbg_new_cd4348290afae586: /* @__PURE__ */ __name(function() {
      const ret = new Object();
      return ret;
    }, "__wbg_new_cd4348290afae586"),
    __wbg_new_from_slice_b8daf545a41c6aa0: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = new Uint8Array(getArrayU8FromWasm0(arg0, arg1));
      return ret;
    }, "__wbg_new_from_slice_b8daf545a41c6aa0"),
    __wbg_new_typed_e09da9dae6ee5935: /* @__PURE__ */ __name(function(arg0, arg1) {
      try {
        var state0 = { a: arg0, b: arg1 };
        var cb0 = /* @__PURE__ */ __name((arg02, arg12) => {
          const a = state0.a;
          state0.a = 0;
          try {
            return wasm_bindgen__convert__closures_____invoke__h143f5c6b25ff2a69(a, state0.b, arg02, arg12);
          } finally {
            state0.a = a;
          }
        }, "cb0");
        const ret = new Promise(cb0);
        return ret;
      } finally {
        state0.a = 0;
      }
    }, "__wbg_new_typed_e09da9dae6ee5935"),
    __wbg_new_with_byte_offset_and_length_3cd32055a417f095: /* @__PURE__ */ __name(function(arg0, arg1, arg2) {
      const ret = new Uint8Array(arg0, arg1 >>> 0, arg2 >>> 0);
      return ret;
    }, "__wbg_new_with_byte_offset_and_length_3cd32055a417f095"),
    __wbg_new_with_length_01b143a7e5dd5a3e: /* @__PURE__ */ __name(function(arg0) {
      const ret = new Uint8Array(arg0 >>> 0);
      return ret;
    }, "__wbg_new_with_length_01b143a7e5dd5a3e"),
    __wbg_new_with_opt_buffer_source_and_init_efb63b64b37a12c7: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1) {
        const ret = new Response(arg0, arg1);
        return ret;
      }, arguments);
    }, "__wbg_new_with_opt_buffer_source_and_init_efb63b64b37a12c7"),
    __wbg_new_with_opt_readable_stream_and_init_383c64eccf9e9cc7: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1) {
        const ret = new Response(arg0, arg1);
        return ret;
      }, arguments);
    }, "__wbg_new_with_opt_readable_stream_and_init_383c64eccf9e9cc7"),
    __wbg_new_with_opt_str_and_init_6456bed24baae6fc: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1, arg2) {
        const ret = new Response(arg0 === 0 ? void 0 : getStringFromWasm0(arg0, arg1), arg2);
        return ret;
      }, arguments);
    }, "__wbg_new_with_opt_str_and_init_6456bed24baae6fc"),
    __wbg_new_with_str_and_init_d9f6b5611184e16b: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1, arg2) {
        const ret = new Request(getStringFromWasm0(arg0, arg1), arg2);
        return ret;
      }, arguments);
    }, "__wbg_new_with_str_and_init_d9f6b5611184e16b"),
    __wbg_next_178c1651c11432b3: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.next;
      return ret;
    }, "__wbg_next_178c1651c11432b3"),
    __wbg_next_af5ac6a08bb0a717: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0) {
        const ret = arg0.next();
        return ret;
      }, arguments);
    }, "__wbg_next_af5ac6a08bb0a717"),
    __wbg_node_86166ff8ce1f2002: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.node;
      return ret;
    }, "__wbg_node_86166ff8ce1f2002"),
    __wbg_of_027eb15371aac932: /* @__PURE__ */ __name(function(arg0) {
      const ret = Array.of(arg0);
      return ret;
    }, "__wbg_of_027eb15371aac932"),
    __wbg_open_76bb2bb8b9eec497: /* @__PURE__ */ __name(function(arg0, arg1, arg2) {
      const ret = arg0.open(getStringFromWasm0(arg1, arg2));
      return ret;
    }, "__wbg_open_76bb2bb8b9eec497"),
    __wbg_parse_c3f72b5a24f83c01: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1) {
        const ret = JSON.parse(getStringFromWasm0(arg0, arg1));
        return ret;
      }, arguments);
    }, "__wbg_parse_c3f72b5a24f83c01"),
    __wbg_process_91f425a63f58e399: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.process;
      return ret;
    }, "__wbg_process_91f425a63f58e399"),
    __wbg_prototypesetcall_13162965d1fe7aa3: /* @__PURE__ */ __name(function(arg0, arg1, arg2) {
      Uint8Array.prototype.set.call(getArrayU8FromWasm0(arg0, arg1), arg2);
    }, "__wbg_prototypesetcall_13162965d1fe7aa3"),
    __wbg_put_005f9c715f33e29b: /* @__PURE__ */ __name(function(arg0, arg1, arg2) {
      const ret = arg0.put(arg1, arg2);
      return ret;
    }, "__wbg_put_005f9c715f33e29b"),
    __wbg_put_e23699e64023d941: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1, arg2, arg3) {
        const ret = arg0.put(getStringFromWasm0(arg1, arg2), arg3);
        return ret;
      }, arguments);
    }, "__wbg_put_e23699e64023d941"),
    __wbg_put_ec58003b2437836e: /* @__PURE__ */ __name(function(arg0, arg1, arg2, arg3) {
      const ret = arg0.put(getStringFromWasm0(arg1, arg2), arg3);
      return ret;
    }, "__wbg_put_ec58003b2437836e"),
    __wbg_queueMicrotask_1e8503a8a690f0a3: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.queueMicrotask;
      return ret;
    }, "__wbg_queueMicrotask_1e8503a8a690f0a3"),
    __wbg_queueMicrotask_4a1a4d8dd332373b: /* @__PURE__ */ __name(function(arg0) {
      queueMicrotask(arg0);
    }, "__wbg_queueMicrotask_4a1a4d8dd332373b"),
    __wbg_randomFillSync_34b023059e3363de: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1) {
        arg0.randomFillSync(arg1);
      }, arguments);
    }, "__wbg_randomFillSync_34b023059e3363de"),
    __wbg_read_e3bea75dace70752: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.read();
      return ret;
    }, "__wbg_read_e3bea75dace70752"),
    __wbg_readable_11d72b62fcfdd1ec: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0) {
        const ret = arg0.readable;
        return ret;
      }, arguments);
    }, "__wbg_readable_11d72b62fcfdd1ec"),
    __wbg_releaseLock_eddf1401c763f0b9: /* @__PURE__ */ __name(function(arg0) {
      arg0.releaseLock();
    }, "__wbg_releaseLock_eddf1401c763f0b9"),
    __wbg_require_9a7d8cc2e1d275c0: /* @__PURE__ */ __name(function() {
      return handleError(function() {
        const ret = module.require;
        return ret;
      }, arguments);
    }, "__wbg_require_9a7d8cc2e1d275c0"),
    __wbg_resolve_dbf78ab4942478b0: /* @__PURE__ */ __name(function(arg0) {
      const ret = Promise.resolve(arg0);
      return ret;
    }, "__wbg_resolve_dbf78ab4942478b0"),
    __wbg_respond_d97c023ee981d1f5: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1) {
        arg0.respond(arg1 >>> 0);
      }, arguments);
    }, "__wbg_respond_d97c023ee981d1f5"),
    __wbg_setAlarm_039d09296f34bacd: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1, arg2) {
        const ret = arg0.setAlarm(arg1, arg2);
        return ret;
      }, arguments);
    }, "__wbg_setAlarm_039d09296f34bacd"),
    __wbg_setTimeout_7b54aa5f72cd7066: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1, arg2) {
        const ret = arg0.setTimeout(arg1, arg2);
        return ret;
      }, arguments);
    }, "__wbg_setTimeout_7b54aa5f72cd7066"),
    __wbg_set_2793479888329cb6: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1, arg2) {
        const ret = Reflect.set(arg0, arg1, arg2);
        return ret;
      }, arguments);
    }, "__wbg_set_2793479888329cb6"),
    __wbg_set_8282f7e0d2d01336: /* @__PURE__ */ __name(function(arg0, arg1, arg2) {
      const ret = arg0.set(arg1, arg2);
      return ret;
    }, "__wbg_set_8282f7e0d2d01336"),
    __wbg_set_bcb0ec2400cfa22e: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1, arg2, arg3, arg4) {
        arg0.set(getStringFromWasm0(arg1, arg2), getStringFromWasm0(arg3, arg4));
      }, arguments);
    }, "__wbg_set_bcb0ec2400cfa22e"),
    __wbg_set_body_877d5251e78ca815: /* @__PURE__ */ __name(function(arg0, arg1) {
      arg0.body = arg1;
    }, "__wbg_set_body_877d5251e78ca815"),
    __wbg_set_cache_7a23201e29cbd632: /* @__PURE__ */ __name(function(arg0, arg1) {
      arg0.cache = __wbindgen_enum_RequestCache[arg1];
    }, "__wbg_set_cache_7a23201e29cbd632"),
    __wbg_set_criticalError_c30445da7038dbf2: /* @__PURE__ */ __name(function(arg0, arg1) {
      arg0.criticalError = arg1 !== 0;
    }, "__wbg_set_criticalError_c30445da7038dbf2"),
    __wbg_set_e4b9a833d288759a: /* @__PURE__ */ __name(function(arg0, arg1, arg2) {
      arg0[arg1] = arg2;
    }, "__wbg_set_e4b9a833d288759a"),
    __wbg_set_feb3714f475485ba: /* @__PURE__ */ __name(function(arg0, arg1, arg2) {
      arg0.set(getArrayU8FromWasm0(arg1, arg2));
    }, "__wbg_set_feb3714f475485ba"),
    __wbg_set_headers_07f10dbe49bc0e77: /* @__PURE__ */ __name(function(arg0, arg1) {
      arg0.headers = arg1;
    }, "__wbg_set_headers_07f10dbe49bc0e77"),
    __wbg_set_headers_6d75a7df4eb22716: /* @__PURE__ */ __name(function(arg0, arg1) {
      arg0.headers = arg1;
    }, "__wbg_set_headers_6d75a7df4eb22716"),
    __wbg_set_ignore_method_27a45a85573cc266: /* @__PURE__ */ __name(function(arg0, arg1) {
      arg0.ignoreMethod = arg1 !== 0;
    }, "__wbg_set_ignore_method_27a45a85573cc266"),
    __wbg_set_instanceId_6f5f77d81e249b49: /* @__PURE__ */ __name(function(arg0, arg1) {
      arg0.instanceId = arg1 >>> 0;
    }, "__wbg_set_instanceId_6f5f77d81e249b49"),
    __wbg_set_method_639e69af35614d36: /* @__PURE__ */ __name(function(arg0, arg1, arg2) {
      arg0.method = getStringFromWasm0(arg1, arg2);
    }, "__wbg_set_method_639e69af35614d36"),
    __wbg_set_redirect_a95a432ab7d10765: /* @__PURE__ */ __name(function(arg0, arg1) {
      arg0.redirect = __wbindgen_enum_RequestRedirect[arg1];
    }, "__wbg_set_redirect_a95a432ab7d10765"),
    __wbg_set_signal_0b2eee78907e5ba7: /* @__PURE__ */ __name(function(arg0, arg1) {
      arg0.signal = arg1;
    }, "__wbg_set_signal_0b2eee78907e5ba7"),
    __wbg_set_status_bd9dc81d1c17b108: /* @__PURE__ */ __name(function(arg0, arg1) {
      arg0.status = arg1;
    }, "__wbg_set_status_bd9dc81d1c17b108"),
    __wbg_signal_fac908876f45725d: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.signal;
      return ret;
    }, "__wbg_signal_fac908876f45725d"),
    __wbg_size_9729f8eed378bf8e: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.size;
      return ret;
    }, "__wbg_size_9729f8eed378bf8e"),
    __wbg_static_accessor_GLOBAL_THIS_003ee833af9699fc: /* @__PURE__ */ __name(function() {
      const ret = typeof globalThis === "undefined" ? void 0 : globalThis;
      return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
    }, "__wbg_static_accessor_GLOBAL_THIS_003ee833af9699fc"),
    __wbg_static_accessor_GLOBAL_e4293fb22cbe77da: /* @__PURE__ */ __name(function() {
      const ret = typeof global === "undefined" ? void 0 : global;
      return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
    }, "__wbg_static_accessor_GLOBAL_e4293fb22cbe77da"),
    __wbg_static_accessor_INIT_STATE_b2269150d11f01e0: /* @__PURE__ */ __name(function() {
      const ret = state;
      return ret;
    }, "__wbg_static_accessor_INIT_STATE_b2269150d11f01e0"),
    __wbg_static_accessor_SELF_53bb20457401453d: /* @__PURE__ */ __name(function() {
      const ret = typeof self === "undefined" ? void 0 : self;
      return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
    }, "__wbg_static_accessor_SELF_53bb20457401453d"),
    __wbg_static_accessor_WINDOW_b5e0810bfecb7feb: /* @__PURE__ */ __name(function() {
      const ret = typeof window === "undefined" ? void 0 : window;
      return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
    }, "__wbg_static_accessor_WINDOW_b5e0810bfecb7feb"),
    __wbg_status_cb85b6c8d1769fa1: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.status;
      return ret;
    }, "__wbg_status_cb85b6c8d1769fa1"),
    __wbg_storage_00d86055b2dc3100: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0) {
        const ret = arg0.storage;
        return ret;
      }, arguments);
    }, "__wbg_storage_00d86055b2dc3100"),
    __wbg_subarray_58f388a9247ac0bb: /* @__PURE__ */ __name(function(arg0, arg1, arg2) {
      const ret = arg0.subarray(arg1 >>> 0, arg2 >>> 0);
      return ret;
    }, "__wbg_subarray_58f388a9247ac0bb"),
    __wbg_text_2d9a65a87b992bc0: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0) {
        const ret = arg0.text();
        return ret;
      }, arguments);
    }, "__wbg_text_2d9a65a87b992bc0"),
    __wbg_then_656f253a5dd7d8ea: /* @__PURE__ */ __name(function(arg0, arg1, arg2) {
      const ret = arg0.then(arg1, arg2);
      return ret;
    }, "__wbg_then_656f253a5dd7d8ea"),
    __wbg_then_e3f7f2d365708be8: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = arg0.then(arg1);
      return ret;
    }, "__wbg_then_e3f7f2d365708be8"),
    __wbg_url_1be993c7b186415b: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = arg1.url;
      const ptr1 = passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
      const len1 = WASM_VECTOR_LEN;
      getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
      getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
    }, "__wbg_url_1be993c7b186415b"),
    __wbg_value_e0f328965e184931: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.value;
      return ret;
    }, "__wbg_value_e0f328965e184931"),
    __wbg_verify_36aaf8995f314c6c: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0, arg1, arg2, arg3, arg4, arg5, arg6) {
        const ret = arg0.verify(arg1, arg2, getArrayU8FromWasm0(arg3, arg4), getArrayU8FromWasm0(arg5, arg6));
        return ret;
      }, arguments);
    }, "__wbg_verify_36aaf8995f314c6c"),
    __wbg_versions_6e128a981b0df859: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.versions;
      return ret;
    }, "__wbg_versions_6e128a981b0df859"),
    __wbg_view_3b708d3bdaf3fc96: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0.view;
      return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
    }, "__wbg_view_3b708d3bdaf3fc96"),
    __wbg_warn_228ff2257384d295: /* @__PURE__ */ __name(function(arg0) {
      console.warn(arg0);
    }, "__wbg_warn_228ff2257384d295"),
    __wbg_webSocket_71791e807603b1e4: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0) {
        const ret = arg0.webSocket;
        return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
      }, arguments);
    }, "__wbg_webSocket_71791e807603b1e4"),
    __wbg_writable_1924ab50750acb0f: /* @__PURE__ */ __name(function() {
      return handleError(function(arg0) {
        const ret = arg0.writable;
        return ret;
      }, arguments);
    }, "__wbg_writable_1924ab50750acb0f"),
    __wbindgen_generic_0000000000000001: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = makeMutClosure(arg0, arg1, wasm_bindgen__convert__closures_____invoke__h4464c10eb09f1ac5);
      return ret;
    }, "__wbindgen_generic_0000000000000001"),
    __wbindgen_generic_0000000000000002: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = makeMutClosure(arg0, arg1, wasm_bindgen__convert__closures_____invoke__h12d9a51cd0341351);
      return ret;
    }, "__wbindgen_generic_0000000000000002"),
    __wbindgen_generic_0000000000000003: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = makeMutClosure(arg0, arg1, wasm_bindgen__convert__closures_____invoke__hbe511a7fd07aea45);
      return ret;
    }, "__wbindgen_generic_0000000000000003"),
    __wbindgen_generic_0000000000000004: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0;
      return ret;
    }, "__wbindgen_generic_0000000000000004"),
    __wbindgen_generic_0000000000000005: /* @__PURE__ */ __name(function(arg0) {
      const ret = arg0;
      return ret;
    }, "__wbindgen_generic_0000000000000005"),
    __wbindgen_generic_0000000000000006: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = getArrayU8FromWasm0(arg0, arg1);
      return ret;
    }, "__wbindgen_generic_0000000000000006"),
    __wbindgen_generic_0000000000000007: /* @__PURE__ */ __name(function(arg0, arg1) {
      const ret = getStringFromWasm0(arg0, arg1);
      return ret;
    }, "__wbindgen_generic_0000000000000007"),
    __wbindgen_generic_0000000000000008: /* @__PURE__ */ __name(function(arg0) {
      const ret = BigInt.asUintN(64, arg0);
      return ret;
    }, "__wbindgen_generic_0000000000000008"),
    __wbindgen_init_externref_table: /* @__PURE__ */ __name(function() {
      const table = wasm.__wbindgen_externrefs;
      table.set(0, void 0);
      table.set(1024, void 0);
      table.set(1025, null);
      table.set(1026, true);
      table.set(1027, false);
    }, "__wbindgen_init_externref_table")
  };
  return {
    __proto__: null,
    "./edgeward_bg.js": import0
  };
}
__name(__wbg_get_imports, "__wbg_get_imports");
function __wbg_call_guard() {
  if (__wbg_reinit_scheduled) {
    __wbg_reset_state();
    return;
  }
}
__name(__wbg_call_guard, "__wbg_call_guard");
function wasm_bindgen__convert__closures_____invoke__hbe511a7fd07aea45(arg0, arg1) {
  __wbg_call_guard();
  wasm.wasm_bindgen__convert__closures_____invoke__hbe511a7fd07aea45(arg0, arg1);
}
__name(wasm_bindgen__convert__closures_____invoke__hbe511a7fd07aea45, "wasm_bindgen__convert__closures_____invoke__hbe511a7fd07aea45");
function wasm_bindgen__convert__closures_____invoke__h12d9a51cd0341351(arg0, arg1, arg2) {
  __wbg_call_guard();
  wasm.wasm_bindgen__convert__closures_____invoke__h12d9a51cd0341351(arg0, arg1, arg2);
}
__name(wasm_bindgen__convert__closures_____invoke__h12d9a51cd0341351, "wasm_bindgen__convert__closures_____invoke__h12d9a51cd0341351");
function wasm_bindgen__convert__closures_____invoke__h4464c10eb09f1ac5(arg0, arg1, arg2) {
  let ret;
  __wbg_call_guard();
  ret = wasm.wasm_bindgen__convert__closures_____invoke__h4464c10eb09f1ac5(arg0, arg1, arg2);
  if (ret[1]) {
    throw takeFromExternrefTable0(ret[0]);
  }
}
__name(wasm_bindgen__convert__closures_____invoke__h4464c10eb09f1ac5, "wasm_bindgen__convert__closures_____invoke__h4464c10eb09f1ac5");
function wasm_bindgen__convert__closures_____invoke__h143f5c6b25ff2a69(arg0, arg1, arg2, arg3) {
  __wbg_call_guard();
  wasm.wasm_bindgen__convert__closures_____invoke__h143f5c6b25ff2a69(arg0, arg1, arg2, arg3);
}
__name(wasm_bindgen__convert__closures_____invoke__h143f5c6b25ff2a69, "wasm_bindgen__convert__closures_____invoke__h143f5c6b25ff2a69");
var __wbindgen_enum_ReadableStreamType = ["bytes"];
var __wbindgen_enum_RequestCache = ["default", "no-store", "reload", "no-cache", "force-cache", "only-if-cached"];
var __wbindgen_enum_RequestRedirect = ["follow", "error", "manual"];
var __wbg_instance_id = 0;
var ContainerStartupOptionsFinalization = typeof FinalizationRegistry === "undefined" ? { register: /* @__PURE__ */ __name(() => {
}, "register"), unregister: /* @__PURE__ */ __name(() => {
}, "unregister") } : new FinalizationRegistry(({ ptr, instance }) => {
  if (instance === __wbg_instance_id) wasm.__wbg_containerstartupoptions_free(ptr, 1);
});
var EdgewardRefreshFinalization = typeof FinalizationRegistry === "undefined" ? { register: /* @__PURE__ */ __name(() => {
}, "register"), unregister: /* @__PURE__ */ __name(() => {
}, "unregister") } : new FinalizationRegistry(({ ptr, instance }) => {
  if (instance === __wbg_instance_id) wasm.__wbg_edgewardrefresh_free(ptr, 1);
});
var EdgewardSessionsFinalization = typeof FinalizationRegistry === "undefined" ? { register: /* @__PURE__ */ __name(() => {
}, "register"), unregister: /* @__PURE__ */ __name(() => {
}, "unregister") } : new FinalizationRegistry(({ ptr, instance }) => {
  if (instance === __wbg_instance_id) wasm.__wbg_edgewardsessions_free(ptr, 1);
});
var IntoUnderlyingByteSourceFinalization = typeof FinalizationRegistry === "undefined" ? { register: /* @__PURE__ */ __name(() => {
}, "register"), unregister: /* @__PURE__ */ __name(() => {
}, "unregister") } : new FinalizationRegistry(({ ptr, instance }) => {
  if (instance === __wbg_instance_id) wasm.__wbg_intounderlyingbytesource_free(ptr, 1);
});
var IntoUnderlyingSinkFinalization = typeof FinalizationRegistry === "undefined" ? { register: /* @__PURE__ */ __name(() => {
}, "register"), unregister: /* @__PURE__ */ __name(() => {
}, "unregister") } : new FinalizationRegistry(({ ptr, instance }) => {
  if (instance === __wbg_instance_id) wasm.__wbg_intounderlyingsink_free(ptr, 1);
});
var IntoUnderlyingSourceFinalization = typeof FinalizationRegistry === "undefined" ? { register: /* @__PURE__ */ __name(() => {
}, "register"), unregister: /* @__PURE__ */ __name(() => {
}, "unregister") } : new FinalizationRegistry(({ ptr, instance }) => {
  if (instance === __wbg_instance_id) wasm.__wbg_intounderlyingsource_free(ptr, 1);
});
var MinifyConfigFinalization = typeof FinalizationRegistry === "undefined" ? { register: /* @__PURE__ */ __name(() => {
}, "register"), unregister: /* @__PURE__ */ __name(() => {
}, "unregister") } : new FinalizationRegistry(({ ptr, instance }) => {
  if (instance === __wbg_instance_id) wasm.__wbg_minifyconfig_free(ptr, 1);
});
var R2RangeFinalization = typeof FinalizationRegistry === "undefined" ? { register: /* @__PURE__ */ __name(() => {
}, "register"), unregister: /* @__PURE__ */ __name(() => {
}, "unregister") } : new FinalizationRegistry(({ ptr, instance }) => {
  if (instance === __wbg_instance_id) wasm.__wbg_r2range_free(ptr, 1);
});
function addToExternrefTable0(obj) {
  const idx = wasm.__externref_table_alloc();
  wasm.__wbindgen_externrefs.set(idx, obj);
  return idx;
}
__name(addToExternrefTable0, "addToExternrefTable0");
var CLOSURE_DTORS = typeof FinalizationRegistry === "undefined" ? { register: /* @__PURE__ */ __name(() => {
}, "register"), unregister: /* @__PURE__ */ __name(() => {
}, "unregister") } : new FinalizationRegistry((state2) => {
  if (state2.instance === __wbg_instance_id) {
    wasm.__wbindgen_destroy_closure(state2.a, state2.b);
  }
});
function debugString(val) {
  switch (typeof val) {
    // primitive types
    case "number":
    case "boolean":
    case "undefined":
      return `${val}`;
    case "string":
      return JSON.stringify(val);
    case "bigint":
      return `${val}n`;
    case "symbol":
      return val.description !== void 0 ? `Symbol(${val.description})` : "Symbol";
    case "function":
      return typeof val.name === "string" && val.name !== "" ? `Function(${val.name})` : "Function";
    case "object": {
      if (val === null) {
        return "null";
      }
      if (Array.isArray(val)) {
        return "[" + Array.from(val, debugString).join(", ") + "]";
      }
      if (val instanceof Error) {
        return `${val.name}: ${val.message}
${val.stack}`;
      }
      const toStringOutput = toString.call(val);
      const className = /\[object ([^\]]+)\]/.exec(toStringOutput)?.[1];
      if (className === void 0) {
        return toStringOutput;
      }
      if (className === "Object") {
        try {
          return "Object(" + JSON.stringify(val) + ")";
        } catch (_) {
          return "Object";
        }
      }
      return className;
    }
  }
}
__name(debugString, "debugString");
function getArrayJsValueFromWasm0(ptr, len) {
  ptr = ptr >>> 0;
  const mem = getDataViewMemory0();
  const result = [];
  for (let i = ptr; i < ptr + 4 * len; i += 4) {
    result.push(wasm.__wbindgen_externrefs.get(mem.getUint32(i, true)));
  }
  wasm.__externref_drop_slice(ptr, len);
  return result;
}
__name(getArrayJsValueFromWasm0, "getArrayJsValueFromWasm0");
function getArrayU8FromWasm0(ptr, len) {
  ptr = ptr >>> 0;
  return getUint8ArrayMemory0().subarray(ptr / 1, ptr / 1 + len);
}
__name(getArrayU8FromWasm0, "getArrayU8FromWasm0");
var cachedDataViewMemory0 = null;
function getDataViewMemory0() {
  if (cachedDataViewMemory0 === null || cachedDataViewMemory0.buffer.detached === true || cachedDataViewMemory0.buffer.detached === void 0 && cachedDataViewMemory0.buffer !== wasm.memory.buffer) {
    cachedDataViewMemory0 = new DataView(wasm.memory.buffer);
  }
  return cachedDataViewMemory0;
}
__name(getDataViewMemory0, "getDataViewMemory0");
function getStringFromWasm0(ptr, len) {
  ptr = ptr >>> 0;
  return decodeText(getUint8ArrayMemory0().subarray(ptr, ptr + len));
}
__name(getStringFromWasm0, "getStringFromWasm0");
var cachedUint8ArrayMemory0 = null;
function getUint8ArrayMemory0() {
  if (cachedUint8ArrayMemory0 === null || cachedUint8ArrayMemory0.byteLength === 0) {
    cachedUint8ArrayMemory0 = new Uint8Array(wasm.memory.buffer);
  }
  return cachedUint8ArrayMemory0;
}
__name(getUint8ArrayMemory0, "getUint8ArrayMemory0");
function handleError(f, args) {
  try {
    return f.apply(this, args);
  } catch (e) {
    const idx = addToExternrefTable0(e);
    wasm.__wbindgen_exn_store(idx);
  }
}
__name(handleError, "handleError");
function isLikeNone(x) {
  return x === void 0 || x === null;
}
__name(isLikeNone, "isLikeNone");
function makeMutClosure(arg0, arg1, f) {
  const state2 = { a: arg0, b: arg1, cnt: 1, instance: __wbg_instance_id };
  const real = /* @__PURE__ */ __name((...args) => {
    if (state2.instance !== __wbg_instance_id) {
      throw new Error("Cannot invoke closure from previous WASM instance");
    }
    state2.cnt++;
    const a = state2.a;
    state2.a = 0;
    try {
      return f(a, state2.b, ...args);
    } finally {
      state2.a = a;
      real._wbg_cb_unref();
    }
  }, "real");
  real._wbg_cb_unref = () => {
    if (--state2.cnt === 0) {
      wasm.__wbindgen_destroy_closure(state2.a, state2.b);
      state2.a = 0;
      CLOSURE_DTORS.unregister(state2);
    }
  };
  CLOSURE_DTORS.register(real, state2, state2);
  return real;
}
__name(makeMutClosure, "makeMutClosure");
function passArrayJsValueToWasm0(array, malloc) {
  const ptr = malloc(array.length * 4, 4) >>> 0;
  for (let i = 0; i < array.length; i++) {
    const add = addToExternrefTable0(array[i]);
    getDataViewMemory0().setUint32(ptr + 4 * i, add, true);
  }
  WASM_VECTOR_LEN = array.length;
  return ptr;
}
__name(passArrayJsValueToWasm0, "passArrayJsValueToWasm0");
function passStringToWasm0(arg, malloc, realloc) {
  if (realloc === void 0) {
    const buf = cachedTextEncoder.encode(arg);
    const ptr2 = malloc(buf.length, 1) >>> 0;
    getUint8ArrayMemory0().subarray(ptr2, ptr2 + buf.length).set(buf);
    WASM_VECTOR_LEN = buf.length;
    return ptr2;
  }
  let len = arg.length;
  let ptr = malloc(len, 1) >>> 0;
  const mem = getUint8ArrayMemory0();
  let offset = 0;
  for (; offset < len; offset++) {
    const code = arg.charCodeAt(offset);
    if (code > 127) break;
    mem[ptr + offset] = code;
  }
  if (offset !== len) {
    if (offset !== 0) {
      arg = arg.slice(offset);
    }
    ptr = realloc(ptr, len, len = offset + arg.length * 3, 1) >>> 0;
    const view = getUint8ArrayMemory0().subarray(ptr + offset, ptr + len);
    const ret = cachedTextEncoder.encodeInto(arg, view);
    offset += ret.written;
    ptr = realloc(ptr, len, offset, 1) >>> 0;
  }
  WASM_VECTOR_LEN = offset;
  return ptr;
}
__name(passStringToWasm0, "passStringToWasm0");
var __wbg_reinit_scheduled = false;
function takeFromExternrefTable0(idx) {
  const value = wasm.__wbindgen_externrefs.get(idx);
  wasm.__externref_table_dealloc(idx);
  return value;
}
__name(takeFromExternrefTable0, "takeFromExternrefTable0");
var cachedTextDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
cachedTextDecoder.decode();
function decodeText(bytes) {
  return cachedTextDecoder.decode(bytes);
}
__name(decodeText, "decodeText");
var cachedTextEncoder = new TextEncoder();
if (!("encodeInto" in cachedTextEncoder)) {
  cachedTextEncoder.encodeInto = function(arg, view) {
    const buf = cachedTextEncoder.encode(arg);
    view.set(buf);
    return {
      read: arg.length,
      written: buf.length
    };
  };
}
var WASM_VECTOR_LEN = 0;
var wasmInstance = new WebAssembly.Instance(wasmModule, __wbg_get_imports());
var wasm = wasmInstance.exports;
wasm.__wbindgen_start();

// ../../../build/worker/entry.mjs
var internalError = /* @__PURE__ */ __name(() => Response.json(
  { code: "internal", message: "internal error" },
  { status: 500, headers: { "cache-control": "no-store" } }
), "internalError");
var Edgeward = class extends WorkerEntrypoint {
  static {
    __name(this, "Edgeward");
  }
  async fetch(request) {
    try {
      return await fetch(request, this.env, this.ctx);
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError) {
        __wbg_reset_state();
      }
      console.error("edgeward: request failed:", error?.name ?? "error");
      return internalError();
    }
  }
};
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
          __wbg_reset_state();
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
__name(durableObject, "durableObject");
var EdgewardRefresh2 = durableObject(EdgewardRefresh, "refresh coordinator");
var EdgewardSessions2 = durableObject(EdgewardSessions, "session registry");

// ../../../node_modules/wrangler/templates/middleware/middleware-ensure-req-body-drained.ts
var drainBody = /* @__PURE__ */ __name(async (request, env, _ctx, middlewareCtx) => {
  try {
    return await middlewareCtx.next(request, env);
  } finally {
    try {
      if (request.body !== null && !request.bodyUsed) {
        const reader = request.body.getReader();
        while (!(await reader.read()).done) {
        }
      }
    } catch (e) {
      console.error("Failed to drain the unused request body.", e);
    }
  }
}, "drainBody");
var middleware_ensure_req_body_drained_default = drainBody;

// ../../../node_modules/wrangler/templates/middleware/middleware-miniflare3-json-error.ts
function reduceError(e) {
  return {
    name: e?.name,
    message: e?.message ?? String(e),
    stack: e?.stack,
    cause: e?.cause === void 0 ? void 0 : reduceError(e.cause)
  };
}
__name(reduceError, "reduceError");
var jsonError = /* @__PURE__ */ __name(async (request, env, _ctx, middlewareCtx) => {
  try {
    return await middlewareCtx.next(request, env);
  } catch (e) {
    const error = reduceError(e);
    return Response.json(error, {
      status: 500,
      headers: { "MF-Experimental-Error-Stack": "true" }
    });
  }
}, "jsonError");
var middleware_miniflare3_json_error_default = jsonError;

// .wrangler/tmp/bundle-Aq2LUC/middleware-insertion-facade.js
var __INTERNAL_WRANGLER_MIDDLEWARE__ = [
  middleware_ensure_req_body_drained_default,
  middleware_miniflare3_json_error_default
];
var middleware_insertion_facade_default = Edgeward;

// ../../../node_modules/wrangler/templates/middleware/common.ts
var __facade_middleware__ = [];
function __facade_register__(...args) {
  __facade_middleware__.push(...args.flat());
}
__name(__facade_register__, "__facade_register__");
function __facade_invokeChain__(request, env, ctx, dispatch, middlewareChain) {
  const [head, ...tail] = middlewareChain;
  const middlewareCtx = {
    dispatch,
    next(newRequest, newEnv) {
      return __facade_invokeChain__(newRequest, newEnv, ctx, dispatch, tail);
    }
  };
  return head(request, env, ctx, middlewareCtx);
}
__name(__facade_invokeChain__, "__facade_invokeChain__");
function __facade_invoke__(request, env, ctx, dispatch, finalMiddleware) {
  return __facade_invokeChain__(request, env, ctx, dispatch, [
    ...__facade_middleware__,
    finalMiddleware
  ]);
}
__name(__facade_invoke__, "__facade_invoke__");

// .wrangler/tmp/bundle-Aq2LUC/middleware-loader.entry.ts
var __Facade_ScheduledController__ = class ___Facade_ScheduledController__ {
  constructor(scheduledTime, cron, noRetry) {
    this.scheduledTime = scheduledTime;
    this.cron = cron;
    this.#noRetry = noRetry;
  }
  static {
    __name(this, "__Facade_ScheduledController__");
  }
  #noRetry;
  noRetry() {
    if (!(this instanceof ___Facade_ScheduledController__)) {
      throw new TypeError("Illegal invocation");
    }
    this.#noRetry();
  }
};
function wrapExportedHandler(worker) {
  if (__INTERNAL_WRANGLER_MIDDLEWARE__ === void 0 || __INTERNAL_WRANGLER_MIDDLEWARE__.length === 0) {
    return worker;
  }
  for (const middleware of __INTERNAL_WRANGLER_MIDDLEWARE__) {
    __facade_register__(middleware);
  }
  const fetchDispatcher = /* @__PURE__ */ __name(function(request, env, ctx) {
    if (worker.fetch === void 0) {
      throw new Error("Handler does not export a fetch() function.");
    }
    return worker.fetch(request, env, ctx);
  }, "fetchDispatcher");
  return {
    ...worker,
    fetch(request, env, ctx) {
      const dispatcher = /* @__PURE__ */ __name(function(type, init) {
        if (type === "scheduled" && worker.scheduled !== void 0) {
          const controller = new __Facade_ScheduledController__(
            Date.now(),
            init.cron ?? "",
            () => {
            }
          );
          return worker.scheduled(controller, env, ctx);
        }
      }, "dispatcher");
      return __facade_invoke__(request, env, ctx, dispatcher, fetchDispatcher);
    }
  };
}
__name(wrapExportedHandler, "wrapExportedHandler");
function wrapWorkerEntrypoint(klass) {
  if (__INTERNAL_WRANGLER_MIDDLEWARE__ === void 0 || __INTERNAL_WRANGLER_MIDDLEWARE__.length === 0) {
    return klass;
  }
  for (const middleware of __INTERNAL_WRANGLER_MIDDLEWARE__) {
    __facade_register__(middleware);
  }
  return class extends klass {
    #fetchDispatcher = /* @__PURE__ */ __name((request, env, ctx) => {
      this.env = env;
      this.ctx = ctx;
      if (super.fetch === void 0) {
        throw new Error("Entrypoint class does not define a fetch() function.");
      }
      return super.fetch(request);
    }, "#fetchDispatcher");
    #dispatcher = /* @__PURE__ */ __name((type, init) => {
      if (type === "scheduled" && super.scheduled !== void 0) {
        const controller = new __Facade_ScheduledController__(
          Date.now(),
          init.cron ?? "",
          () => {
          }
        );
        return super.scheduled(controller);
      }
    }, "#dispatcher");
    fetch(request) {
      return __facade_invoke__(
        request,
        this.env,
        this.ctx,
        this.#dispatcher,
        this.#fetchDispatcher
      );
    }
  };
}
__name(wrapWorkerEntrypoint, "wrapWorkerEntrypoint");
var WRAPPED_ENTRY;
if (typeof middleware_insertion_facade_default === "object") {
  WRAPPED_ENTRY = wrapExportedHandler(middleware_insertion_facade_default);
} else if (typeof middleware_insertion_facade_default === "function") {
  WRAPPED_ENTRY = wrapWorkerEntrypoint(middleware_insertion_facade_default);
}
var middleware_loader_entry_default = WRAPPED_ENTRY;
export {
  EdgewardRefresh2 as EdgewardRefresh,
  EdgewardSessions2 as EdgewardSessions,
  __INTERNAL_WRANGLER_MIDDLEWARE__,
  middleware_loader_entry_default as default
};
//# sourceMappingURL=entry.js.map
