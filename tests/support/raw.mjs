// A request written by hand over TCP: for what `fetch` would not send, or an answer it would lose.
import net from "node:net";

/**
 * Connects to `host:port` and, once connected, lets `send(socket, settled)` write the request
 * (`settled()` turns true once the outcome is known, so a long write can stop). Resolves with
 * the first status line's code as soon as it is read (`{status}`); `{reset: code}` when the
 * connection is reset or a write meets a closed one (ECONNRESET, EPIPE); `{closed: true}` when it
 * is closed without an answer; `{timeout: true}` after `timeoutMs`. Any other error rejects.
 */
export function rawCall({ host = "127.0.0.1", port, timeoutMs = 30_000 }, send) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), host);
    let answer = "";
    let done = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ timeout: true }), timeoutMs);
    socket.on("data", (d) => {
      answer += d.toString("latin1");
      const line = answer.match(/^HTTP\/1\.1 (\d{3})/);
      if (line) finish({ status: Number(line[1]) });
    });
    socket.on("error", (e) => {
      if (["ECONNRESET", "EPIPE"].includes(e.code)) finish({ reset: e.code });
      else if (!done) {
        done = true;
        clearTimeout(timer);
        reject(e);
      }
    });
    socket.on("close", () => finish({ closed: true }));
    socket.on("connect", () => Promise.resolve(send(socket, () => done)).catch(reject));
  });
}
