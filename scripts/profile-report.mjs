// The report of a V8 CPU profile (the format Profiler.stop answers and DevTools opens): self
// time grouped by what the code does, the top functions, and the inclusive time of the core's
// functions. Used by scripts/profile-wasm.mjs (edge/bench in node) and
// scripts/profile-workerd.mjs (the worker in workerd).

/**
 * Prints the report of `profile`. `within(name)` says which frames count (a sample counts when
 * one of its frames, or an ancestor's, satisfies it); `title` heads the report.
 */
export function report(profile, { title, within = () => true, top = Number(process.env.TOP ?? 30) }) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const total = profile.samples.length;

  // What each sample is doing: from its top frame down the stack, the first frame whose name
  // says (so `Split::next` called by the cookie reader counts as cookie parsing). First match of
  // a frame wins; a sample no frame names is "other".
  const groups = [
    ["AES-GCM (AES, GHASH, CTR)", /aes::|ghash|polyval|fixslice|aes_gcm|Aes256|ctr::|cipher::/],
    ["HKDF / HMAC / SHA-256", /sha2::|sha256|hkdf|hmac|compress256|digest::/],
    ["base64", /base64/],
    ["serde_json / serde", /serde/],
    ["allocation / memcpy / memcmp", /dlmalloc|__rust_alloc|__rust_dealloc|__rust_realloc|alloc::raw_vec|memcpy|memmove|memset|memcmp|copy_from_slice/],
    ["cookie header reading", /platform::cookies::(read|present|values)|cookies::pairs/],
    ["Set-Cookie writing (cookie crate)", /(?<!edgeward_core::)\bcookie::|platform::cookies::/],
    ["formatting (fmt)", /core::fmt|fmt::Write|Formatter|::fmt::/],
    ["http types (HeaderMap, Request, Uri)", /\bhttp::/],
    ["url", /url::|form_urlencoded|idna|percent_encoding/],
    ["the core's own code (routing, checks, caches)", /edgeward_core::|edgeward_shared::/],
    ["async machinery / wasm-bindgen / JS glue", /Future|poll|wasm_bindgen|js_sys|futures|Promise|__wbg|__wbindgen|executor|^(?!.*::).*$/],
  ];
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const groupOf = new Map();
  function classify(id) {
    if (groupOf.has(id)) return groupOf.get(id);
    let group = "other";
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const name = byId.get(at).callFrame.functionName;
      // Generic helpers say nothing of what they serve: their caller decides.
      if (!name || name === "(root)" || /HeaderValue::to_str|FlattenCompat|core::iter::|core::str::/.test(name)) continue;
      const hit = groups.find(([, re]) => re.test(name));
      if (hit) {
        group = hit[0];
        break;
      }
    }
    groupOf.set(id, group);
    return group;
  }
  // Only what Edge::handle does: the bench's own request building and bookkeeping are left out.
  const inHandle = new Map();
  function underHandle(id) {
    if (inHandle.has(id)) return inHandle.get(id);
    const name = byId.get(id).callFrame.functionName;
    const up = parent.get(id);
    const yes = within(name) || (up !== undefined && underHandle(up));
    inHandle.set(id, yes);
    return yes;
  }
  const grouped = new Map();
  const self = new Map();
  let busy = 0;
  for (const id of profile.samples) {
    const name = byId.get(id).callFrame.functionName;
    if (!underHandle(id)) continue;
    busy += 1;
    self.set(name, (self.get(name) ?? 0) + 1);
    const group = classify(id);
    grouped.set(group, (grouped.get(group) ?? 0) + 1);
  }
  const pct = (n) => ((100 * n) / busy).toFixed(1).padStart(5) + " %";
  console.log(`${title}; ${total} samples, ${busy} of them counted (the shares below)`);
  console.log("\nself time by group (share of busy samples):");
  for (const [group, n] of [...grouped].sort((a, b) => b[1] - a[1])) console.log(`${pct(n)}  ${group}`);
  console.log("\ntop functions by self time:");
  const tops = [...self].filter(([name]) => !["(idle)", "(root)"].includes(name)).sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [name, n] of tops) console.log(`${pct(n)}  ${name.length > 150 ? name.slice(0, 150) + "…" : name}`);

  // Inclusive time of the core's functions: samples with the function anywhere on the stack.
  const inclusive = new Map();
  for (const id of profile.samples) {
    if (!underHandle(id)) continue;
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const name = byId.get(at).callFrame.functionName.replace(/::h[0-9a-f]{16}$/, "");
      if (/^(<)?edgeward_(core|shared)|drop_in_place<edgeward/.test(name) && !seen.has(name)) {
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + 1);
      }
    }
  }
  console.log("\nthe core's functions by inclusive time (self and callees):");
  for (const [name, n] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(n)}  ${name.length > 150 ? name.slice(0, 150) + "…" : name}`);
}
