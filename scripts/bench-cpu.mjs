// CPU time by process kind for the benchmarks (Linux /proc): which part of the local stack
// spent the CPU of a measured run. Numbers for the report, not a test.
import { existsSync, readdirSync, readFileSync } from "node:fs";

/** CPU seconds used so far by each kind of process of the stack (Linux /proc; {} elsewhere). */
export function cpuByPart() {
  const parts = {};
  if (!existsSync("/proc/self/stat")) return parts;
  const tick = 100; // USER_HZ
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      const part =
        Number(pid) === process.pid ? "load generator"
        : /workerd/.test(cmd) ? "workerd"
        : /wrangler/.test(cmd) ? "wrangler (node)"
        : /edgeward-example-api/.test(cmd) ? "example API"
        : /idp\/server\.mjs/.test(cmd) ? "IdP"
        : null;
      if (!part) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parts[part] = (parts[part] ?? 0) + (Number(fields[11]) + Number(fields[12])) / tick;
    } catch {}
  }
  return parts;
}

/** CPU milliseconds per request between two snapshots, by process kind (idle ones left out). */
export function perRequest(before, after, requests) {
  const out = {};
  for (const [part, seconds] of Object.entries(after)) {
    const ms = ((seconds - (before[part] ?? 0)) * 1000) / Math.max(1, requests);
    if (ms >= 0.01) out[part] = Number(ms.toFixed(2));
  }
  return out;
}

/** "workerd 3.4, example API 0.77": CPU ms per request by process kind, for a table cell. */
export const describe = (cpuMsPerRequest) =>
  Object.entries(cpuMsPerRequest).map(([part, ms]) => `${part} ${ms}`).join(", ");
