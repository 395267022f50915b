#!/usr/bin/env node
// scripts/core-layout.mjs [SRC] — checks the shape of edge/core's modules (README "Layout").
//
// A module is a folder or file directly under SRC (default edge/core/src), lib.rs aside. For
// each module it reads every `crate::…` path (`use crate::x`, `use crate::{x, y::z}`, inline
// `crate::x::f()`, doc links), every `super::` that climbs out of the module, and resolves the
// crate root's re-exports (`crate::Error` is `platform`'s). Unit-test modules
// (`#[cfg(test)] mod … { … }`) and plain `//` comments are not read: tests may reach anywhere.
//
// It fails (exit 1) when
//   - modules use each other in a cycle (the cycle is printed with a line for each step);
//   - a module uses one its `//! May use: …` line (in mod.rs, or the module's file) does not
//     list, or has no such line;
//   - lib.rs holds anything but `mod` declarations and `use` re-exports (an item there would be
//     a module the check cannot see).
// On success it prints the modules bottom-up with what each uses.

import { readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { join, relative, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = process.argv[2] ?? join(root, "edge/core/src");
const problems = [];

// --- reading Rust text -------------------------------------------------------------------

// Whether the `r` at `i` begins a raw string (`r"…"`, `r#"…"#`, `br#"…"#`), not an identifier.
const rawStart = (text, i) =>
  !/\w/.test(text[i - 1] ?? "") || (text[i - 1] === "b" && !/\w/.test(text[i - 2] ?? ""));

// Two views of a source, the same length and lines as it: `code` blanks comments and the
// contents of string and char literals; `scan` is `code` with doc comments kept (they hold
// intra-doc links, which name modules too).
function views(text) {
  const code = text.split("");
  const scan = text.split("");
  const blank = (arr, from, to) => {
    for (let k = from; k < to; k++) if (arr[k] !== "\n") arr[k] = " ";
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === "/" && next === "/") {
      const end = text.indexOf("\n", i) === -1 ? text.length : text.indexOf("\n", i);
      const doc = text[i + 2] === "!" || (text[i + 2] === "/" && text[i + 3] !== "/");
      blank(code, i, end);
      if (!doc) blank(scan, i, end);
      i = end;
    } else if (c === "/" && next === "*") {
      let depth = 1;
      let k = i + 2;
      while (k < text.length && depth > 0) {
        if (text[k] === "/" && text[k + 1] === "*") (depth++, (k += 2));
        else if (text[k] === "*" && text[k + 1] === "/") (depth--, (k += 2));
        else k++;
      }
      blank(code, i, k);
      blank(scan, i, k);
      i = k;
    } else if (c === "r" && /^r#*"/.test(text.slice(i, i + 260)) && rawStart(text, i)) {
      const hashes = /^r(#*)"/.exec(text.slice(i))[1];
      const close = `"${hashes}`;
      const start = i + 2 + hashes.length;
      const end = text.indexOf(close, start);
      const stop = end === -1 ? text.length : end;
      blank(code, start, stop);
      blank(scan, start, stop);
      i = stop + close.length;
    } else if (c === '"') {
      let k = i + 1;
      while (k < text.length && text[k] !== '"') k += text[k] === "\\" ? 2 : 1;
      blank(code, i + 1, k);
      blank(scan, i + 1, k);
      i = k + 1;
    } else if (c === "'") {
      // A char literal ('a', '\n', '\u{1F}'), not a lifetime ('a).
      const m = /^'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'/u.exec(text.slice(i, i + 16));
      if (m) {
        blank(code, i + 1, i + m[0].length - 1);
        blank(scan, i + 1, i + m[0].length - 1);
        i += m[0].length;
      } else i++;
    } else i++;
  }
  return { code: code.join(""), scan: scan.join("") };
}

// The index of the brace that closes the one at `open`, in a view without comments or strings.
function closing(code, open) {
  let depth = 0;
  for (let k = open; k < code.length; k++) {
    if (code[k] === "{") depth++;
    else if (code[k] === "}" && --depth === 0) return k;
  }
  return code.length;
}

// `scan` without the `#[cfg(test)] mod name { … }` blocks.
function withoutTests(code, scan) {
  const out = scan.split("");
  const re = /#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{/g;
  let m;
  while ((m = re.exec(code))) {
    const open = m.index + m[0].length - 1;
    const close = closing(code, open);
    for (let k = m.index; k <= close; k++) if (out[k] !== "\n") out[k] = " ";
    re.lastIndex = close;
  }
  return out.join("");
}

// The first path segment of each item of a `{a, b::c, d::{e, f}}` group (without its braces).
function groupHeads(group) {
  const heads = [];
  let depth = 0;
  let item = "";
  for (const ch of group + ",") {
    if (ch === "{") depth++;
    if (ch === "}") depth--;
    if (ch === "," && depth === 0) {
      const head = item.trim().split("::")[0].split(/\s/)[0];
      if (head) heads.push(head);
      item = "";
    } else item += ch;
  }
  return heads;
}

const lineOf = (text, index) => text.slice(0, index).split("\n").length;

// --- the modules ---------------------------------------------------------------------------

function rustFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return rustFiles(path);
    return name.endsWith(".rs") ? [path] : [];
  });
}

const modules = new Map(); // name -> { files, root, declared }
for (const name of readdirSync(src).sort()) {
  const path = join(src, name);
  if (name === "lib.rs" || name === "main.rs") continue;
  if (statSync(path).isDirectory()) {
    if (!existsSync(join(path, "mod.rs"))) continue;
    modules.set(name, { files: rustFiles(path).sort(), root: join(path, "mod.rs") });
  } else if (name.endsWith(".rs")) {
    modules.set(name.slice(0, -3), { files: [path], root: path });
  }
}

// The crate root: only declarations and re-exports; what each re-exported name stands for.
const reexports = new Map(); // name -> module
{
  const text = readFileSync(join(src, "lib.rs"), "utf8");
  const { code } = views(text);
  const statements = code.replace(/#!?\[[^\]]*\]/g, " ").split(";");
  for (const raw of statements) {
    const s = raw.trim();
    if (!s) continue;
    if (!/^(pub(\([^)]*\))?\s+)?(mod|use)\s/.test(s)) {
      problems.push(`lib.rs: only \`mod\` and \`use\` belong here, not: ${s.split("\n")[0]}`);
      continue;
    }
    const use = /^(?:pub(?:\([^)]*\))?\s+)?use\s+(?:crate::)?(\w+)::([\s\S]*)$/.exec(s);
    if (!use) continue;
    const [, module, rest] = use;
    const names = rest.trim().startsWith("{")
      ? rest.trim().slice(1, -1).split(",")
      : [rest];
    for (const item of names) {
      const parts = item.trim().split(/\s+as\s+/);
      const name = (parts[1] ?? parts[0].split("::").pop()).replace(/[{}]/g, "").trim();
      if (name) reexports.set(name, module);
    }
  }
}

// What each module's root file says it may use.
for (const [name, mod] of modules) {
  const text = readFileSync(mod.root, "utf8");
  const m = /^\/\/! May use: (.*)$/m.exec(text);
  if (!m) {
    problems.push(`${relative(root, mod.root)}: no "//! May use: …" line (what may ${name} use?)`);
    mod.declared = null;
    continue;
  }
  mod.declared = new Set([...m[1].matchAll(/`(\w+)`/g)].map((x) => x[1]));
  for (const d of mod.declared) {
    if (!modules.has(d)) problems.push(`${relative(root, mod.root)}: May use names \`${d}\`, which is not a module`);
  }
}

// --- what each module uses ----------------------------------------------------------------

const edges = new Map([...modules.keys()].map((m) => [m, new Map()])); // from -> to -> where
for (const [name, mod] of modules) {
  for (const file of mod.files) {
    const text = readFileSync(file, "utf8");
    const { code, scan } = views(text);
    const body = withoutTests(code, scan);
    // The file's own module path below src: a/b.rs is [a, b], a/mod.rs is [a].
    const segments = relative(src, file).replace(/\.rs$/, "").split("/");
    if (segments.at(-1) === "mod") segments.pop();
    const found = [];
    for (const m of body.matchAll(/\bcrate::\{/g)) {
      const open = m.index + m[0].length - 1;
      const group = body.slice(open + 1, closing(code, open));
      for (const head of groupHeads(group)) found.push([head, m.index]);
    }
    for (const m of body.matchAll(/\bcrate::(\w+)/g)) found.push([m[1], m.index]);
    for (const m of body.matchAll(/\b((?:super::)+)(\{|\w+)/g)) {
      const up = m[1].length / "super::".length;
      if (up < segments.length) continue; // still inside this module
      if (m[2] === "{") {
        const open = m.index + m[1].length;
        for (const head of groupHeads(body.slice(open + 1, closing(code, open)))) found.push([head, m.index]);
      } else found.push([m[2], m.index]);
    }
    for (const [head, index] of found) {
      const target = modules.has(head) ? head : reexports.get(head);
      const where = `${relative(root, file)}:${lineOf(text, index)}`;
      if (!target) {
        problems.push(`${where}: crate::${head} is neither a module nor a re-export of the crate root`);
        continue;
      }
      if (target === name || edges.get(name).has(target)) continue;
      edges.get(name).set(target, `${where}: ${text.split("\n")[lineOf(text, index) - 1].trim()}`);
    }
  }
}

for (const [name, uses] of edges) {
  const declared = modules.get(name).declared;
  if (!declared) continue;
  for (const [target, where] of uses) {
    if (!declared.has(target)) problems.push(`${name} uses ${target}, which its May use line does not list\n    ${where}`);
  }
}

// --- cycles (strongly connected components, Tarjan) ----------------------------------------

const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const components = [];
let counter = 0;
function strongConnect(v) {
  index.set(v, counter);
  low.set(v, counter++);
  stack.push(v);
  onStack.add(v);
  for (const w of edges.get(v).keys()) {
    if (!index.has(w)) {
      strongConnect(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
  }
  if (low.get(v) === index.get(v)) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) components.push(component.sort());
  }
}
for (const v of [...modules.keys()].sort()) if (!index.has(v)) strongConnect(v);

for (const component of components) {
  // One cycle through the component, step by step.
  const inside = new Set(component);
  const start = component[0];
  const path = [start];
  const seen = new Set([start]);
  const walk = (v) => {
    for (const w of edges.get(v).keys()) {
      if (!inside.has(w)) continue;
      if (w === start) return true;
      if (seen.has(w)) continue;
      seen.add(w);
      path.push(w);
      if (walk(w)) return true;
      path.pop();
    }
    return false;
  };
  walk(start);
  const steps = path.map((v, k) => {
    const w = path[(k + 1) % path.length];
    return `  ${v} -> ${w}\n    ${edges.get(v).get(w)}`;
  });
  problems.push(`import cycle: ${component.join(" ")}\n${steps.join("\n")}`);
}

// --- report --------------------------------------------------------------------------------

const useCount = [...edges.values()].reduce((n, uses) => n + uses.size, 0);
if (problems.length > 0) {
  for (const p of problems) console.log(`FAIL ${p}`);
  console.log(`core layout: ${modules.size} modules, ${useCount} uses, ${components.length} cycle(s), ${problems.length} problem(s)`);
  process.exit(1);
}
// Bottom-up: each module after everything it uses.
const order = [];
const placed = new Set();
while (order.length < modules.size) {
  for (const name of [...modules.keys()].sort()) {
    if (placed.has(name) || ![...edges.get(name).keys()].every((t) => placed.has(t))) continue;
    order.push(name);
    placed.add(name);
  }
}
for (const name of order) {
  const uses = [...edges.get(name).keys()].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  console.log(`  ${name.padEnd(9)} uses ${uses.length ? uses.join(", ") : "nothing"}`);
}
console.log(`core layout: ${modules.size} modules, ${useCount} uses, no cycle, every use declared`);
