// Turns wasm-bindgen's JS glue (`--target module`) into a factory: the module's body moves into
// `export function instantiate(guard)`, which makes a new instance of the wasm module (its own
// memory, its own glue state) each time it is called and returns what the module exported. The
// compiled module is imported once and shared, so the upload holds the wasm once.
//
// `guard` receives the instance's exports before the glue uses them and returns what the glue
// calls instead (edge/worker/js/entry.mjs wraps each function to see a trap come out of it).
//
// Used by scripts/build-worker.sh. The glue is generated code: anything this script does not
// expect stops the build rather than being guessed at.
//
//   node scripts/glue-factory.mjs build/worker/pkg/edgeward.js
import { readFileSync, writeFileSync } from "node:fs";

const path = process.argv[2];
if (!path) fail("usage: glue-factory.mjs <glue.js>");
const lines = readFileSync(path, "utf8").split("\n");

function fail(message) {
  console.error(`glue-factory: ${message}`);
  process.exit(1);
}

const imports = [];
const body = [];
const names = [];
for (const line of lines) {
  if (line.startsWith("import ")) {
    if (body.some((l) => l.trim() !== "")) fail(`an import after the first statement: ${line}`);
    if (line.startsWith("import source ")) fail("a source-phase import (run the sed in build-worker.sh first)");
    imports.push(line);
    continue;
  }
  const declaration = line.match(/^export (class|function) ([A-Za-z_$][\w$]*)/);
  if (declaration) {
    names.push(declaration[2]);
    body.push(line.slice("export ".length));
    continue;
  }
  if (/^export\b/.test(line)) fail(`an export this script does not know: ${line}`);
  body.push(line);
}

// The one place the glue takes the instance's exports (and, in its reset function, again).
const take = /^(\s*)(let )?wasm = wasmInstance\.exports;$/;
const takes = body.filter((l) => take.test(l)).length;
if (takes < 1) fail("found no `wasm = wasmInstance.exports;`");
const guarded = body.map((l) => l.replace(take, "$1$2wasm = guard(wasmInstance.exports);"));
if (!guarded.some((l) => /^let wasm = guard\(wasmInstance\.exports\);$/.test(l))) {
  fail("found no top-level `let wasm = wasmInstance.exports;`");
}
if (!names.includes("fetch")) fail("the glue exports no fetch");

const out = [
  ...imports,
  "",
  "// Made into a factory by scripts/glue-factory.mjs: each call instantiates the module anew.",
  "export function instantiate(guard) {",
  ...guarded,
  `return { ${names.join(", ")} };`,
  "}",
  "",
];
writeFileSync(path, out.join("\n"));
