// A DevTools-protocol session with workerd's inspector (`workerd serve --inspector-addr`): the
// first target's WebSocket, and `post(method, params)` resolving to the method's result. Node's
// own WebSocket where it has one (Node 22, or 20 with --experimental-websocket), else the `ws`
// package. Used by scripts/profile-workerd.mjs (CPU profiles) and scripts/soak.mjs (heap).

/** Connects to the inspector on 127.0.0.1:`port`; returns `{ post, close }`. */
export async function connectInspector(port) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const target = targets.find((t) => t.webSocketDebuggerUrl) ?? targets[0];
  const WS = typeof WebSocket === "function" ? WebSocket : (await import("ws")).default;
  const ws = new WS(target.webSocketDebuggerUrl ?? `ws://127.0.0.1:${port}/${target.id}`);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error("the inspector's WebSocket failed"));
  });
  let next = 0;
  const pending = new Map();
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.id !== undefined && pending.has(msg.id)) {
      pending.get(msg.id)(msg);
      pending.delete(msg.id);
    }
  };
  const post = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = ++next;
      pending.set(id, (msg) => (msg.error ? reject(new Error(`${method}: ${JSON.stringify(msg.error)}`)) : resolve(msg.result)));
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { post, close: () => ws.close() };
}
