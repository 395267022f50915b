// scripts/profile-compare.mjs's accounting, on a profile small enough to count by hand.
import { test } from "node:test";
import assert from "node:assert/strict";
import { perCall } from "../../scripts/profile-compare.mjs";

// (root) → serve → handle → parse
//                         → handle (recursion) → parse
//        → (idle)
const frame = (functionName) => ({ functionName, url: "", lineNumber: 0 });
const profile = {
  nodes: [
    { id: 1, callFrame: frame("(root)"), children: [2, 6] },
    { id: 2, callFrame: frame("serve"), children: [3] },
    { id: 3, callFrame: frame("edgeward_worker::handle::h0123456789abcdef"), children: [4, 5] },
    { id: 4, callFrame: frame("parse"), children: [] },
    { id: 5, callFrame: frame("edgeward_worker::handle::hfedcba9876543210"), children: [7] },
    { id: 6, callFrame: frame("(idle)"), children: [] },
    { id: 7, callFrame: frame("parse"), children: [] },
  ],
  // Each sample's time is the delta after it.
  samples: [4, 3, 7, 6, 2],
  timeDeltas: [0, 10, 20, 30, 1000, 40],
};

test("time per call is inclusive, counted once per stack, idle left out", () => {
  const times = perCall(profile, 2);
  // Busy: 10 (parse) + 20 (handle) + 30 (parse under handle twice) + 40 (serve); the idle 1000 is not.
  assert.equal(times.get("(busy)"), 50);
  assert.equal(times.get("serve"), 50);
  // The build hashes are dropped, so both frames are one function, and the recursive stack
  // counts its sample once.
  assert.equal(times.get("edgeward_worker::handle"), 30);
  assert.equal(times.get("parse"), 20);
  assert.equal(times.get("(idle)"), undefined);
  assert.equal(times.get("(root)"), undefined);
});
