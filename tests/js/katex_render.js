#!/usr/bin/env node
// Render every $$...$$ display of the Markdown on stdin with KaTeX (throwOnError, strict).
// Prints one JSON object: {"count": N, "errors": [{"index": i, "tex": ..., "message": ...}]};
// exits 1 when any display fails, 2 when there is none.
"use strict";
const katex = require("katex");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const displays = [...input.matchAll(/\$\$([\s\S]*?)\$\$/g)].map((m) => m[1].trim());
  const errors = [];
  displays.forEach((tex, index) => {
    try {
      katex.renderToString(tex, { displayMode: true, throwOnError: true, strict: "error" });
    } catch (err) {
      errors.push({ index, tex, message: String(err.message || err) });
    }
  });
  process.stdout.write(JSON.stringify({ count: displays.length, errors }) + "\n");
  process.exit(errors.length ? 1 : displays.length ? 0 : 2);
});
