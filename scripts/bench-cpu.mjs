// CPU time by part of the local stack for the benchmarks (Linux /proc): which part spent the CPU
// of a measured run. Each part is the process tree under the pid the benchmark started (the
// runtime: wrangler's Node process and its two workerd processes, or the one workerd process;
// the IdP; the example API), so other workerd processes on the machine, another benchmark's or
// a test run's, are never counted. Numbers for the report, not a test.
import { existsSync, readdirSync, readFileSync } from "node:fs";

const TICK = 100; // USER_HZ

/**
 * `[ppid, CPU seconds]` of one process, or null once it is gone. The CPU time is the sum of its
 * threads' time on a CPU in nanoseconds (`/proc/<pid>/task/<tid>/schedstat`): utime + stime of
 * `/proc/<pid>/stat` count in clock ticks of 10 ms, too coarse for 40 calls of a millisecond.
 * (A thread that ends between two snapshots takes its time with it; the runtimes' threads live
 * as long as they do.) Without schedstat, utime + stime.
 */
function stat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return [Number(fields[1]), schedstat(pid) ?? (Number(fields[11]) + Number(fields[12])) / TICK];
  } catch {
    return null;
  }
}

function schedstat(pid) {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    return ns / 1e9;
  } catch {
    return null;
  }
}

/** The CPU seconds of every process, and who its parent is. */
function processes() {
  const all = new Map();
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    const s = stat(pid);
    if (s) all.set(Number(pid), { ppid: s[0], cpu: s[1] });
  }
  return all;
}

/** The pids of the process tree under `root` (the root and every descendant alive now). */
function tree(all, root) {
  const children = new Map();
  for (const [pid, { ppid }] of all) (children.get(ppid) ?? children.set(ppid, []).get(ppid)).push(pid);
  const queue = [root];
  for (let i = 0; i < queue.length; i++) queue.push(...(children.get(queue[i]) ?? []));
  return queue.filter((pid) => all.has(pid));
}

/** CPU seconds of the process tree under `root`. */
const treeCpu = (all, root) => tree(all, root).reduce((sum, pid) => sum + all.get(pid).cpu, 0);

/** "node, workerd, workerd": the programs of the process tree under `root`, for the report. */
export function treePrograms(root) {
  if (!existsSync("/proc/self/stat")) return "";
  return tree(processes(), root)
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0].split("/").pop();
      } catch {
        return "?";
      }
    })
    .join(", ");
}

/**
 * CPU seconds used so far by each part: `parts` maps a name to the pid at the root of its tree
 * (a part whose pid is missing is left out); the load generator is this process. {} when there
 * is no /proc.
 */
export function cpuByPart(parts = {}) {
  if (!existsSync("/proc/self/stat")) return {};
  const all = processes();
  const out = {};
  for (const [name, pid] of Object.entries(parts)) if (pid) out[name] = treeCpu(all, pid);
  const self = process.cpuUsage();
  out["load generator"] = (self.user + self.system) / 1e6;
  return out;
}

/** CPU milliseconds per request between two snapshots, by part (idle ones left out). */
export function perRequest(before, after, requests) {
  const out = {};
  for (const [part, seconds] of Object.entries(after)) {
    const ms = ((seconds - (before[part] ?? 0)) * 1000) / Math.max(1, requests);
    if (ms >= 0.005) out[part] = Number(ms.toFixed(3));
  }
  return out;
}

/** "runtime 0.134, IdP 0.77": CPU ms per request by part, for a table cell. */
export const describe = (cpuMsPerRequest) =>
  Object.entries(cpuMsPerRequest).map(([part, ms]) => `${part} ${ms}`).join(", ");
