// trunk post-build hook: moves the inline module script trunk injects into index.html into a
// file of its own (/boot-<hash>.js), so the page runs under `script-src 'self'` without
// 'unsafe-inline' (see public/_headers). Works on trunk's staging directory.
import { readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error("externalize-boot: TRUNK_STAGING_DIR is not set (run me as a trunk hook)");
  process.exit(1);
}
const indexPath = join(dir, "index.html");
const html = readFileSync(indexPath, "utf8");
const inline = /<script type="module">([\s\S]*?)<\/script>/;
const match = html.match(inline);
if (!match) {
  console.error("externalize-boot: no inline module script in index.html");
  process.exit(1);
}
const code = match[1].trim() + "\n";
const name = `boot-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.js`;
writeFileSync(join(dir, name), code);
writeFileSync(indexPath, html.replace(inline, `<script type="module" src="/${name}"></script>`));
