// scripts/profile-compare.mjs's accounting, on a profile small enough to count by hand.
import { test } from "node:test";
import assert from "node:assert/strict";
import { perCall } from "../../scripts/profile-compare.mjs";

// (root) → serve → handle → parse
//                         → handle (recursion) → parse
//        → (idle), (program)
const frame = (functionName) => ({ functionName, url: "", lineNumber: 0 });
const profile = {
  nodes: [
    { id: 1, callFrame: frame("(root)"), children: [2, 6, 8] },
    { id: 2, callFrame: frame("serve"), children: [3] },
    { id: 3, callFrame: frame("edgeward_worker::handle::h0123456789abcdef"), children: [4, 5] },
    { id: 4, callFrame: frame("parse"), children: [] },
    { id: 5, callFrame: frame("edgeward_worker::handle::hfedcba9876543210"), children: [7] },
    { id: 6, callFrame: frame("(idle)"), children: [] },
    { id: 7, callFrame: frame("parse"), children: [] },
    { id: 8, callFrame: frame("(program)"), children: [] },
  ],
  // As V8 writes it: one delta per sample, each from the sample before (the first from
  // startTime), so a sample's time is the next sample's delta and the last one has none.
  startTime: 0,
  samples: [4, 3, 7, 6, 8, 2, 4],
  timeDeltas: [5, 10, 20, 30, 1000, 500, 40],
  endTime: 1605,
};

test("time per call is inclusive, counted once per stack; idle, (program) and the last sample left out", () => {
  const times = perCall(profile, 2);
  // parse 10 + handle 20 + parse under handle twice 30 + serve 40 = 100 over 2 calls; the idle
  // 1000, the (program) 500 and the last sample (nothing after it) do not count.
  assert.equal(times.get("(busy)"), 50);
  assert.equal(times.get("serve"), 50);
  // The build hashes are dropped, so both frames are one function, and the recursive stack
  // counts its sample once.
  assert.equal(times.get("edgeward_worker::handle"), 30);
  assert.equal(times.get("parse"), 20);
  for (const left of ["(idle)", "(program)", "(root)"]) assert.equal(times.get(left), undefined, left);
});

test("an out-of-order sample (a negative delta) counts as none", () => {
  const times = perCall({ ...profile, timeDeltas: [5, 10, -20, 30, 1000, 500, 40] }, 2);
  assert.equal(times.get("(busy)"), 40);
  assert.equal(times.get("edgeward_worker::handle"), 20);
});
