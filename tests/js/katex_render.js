#!/usr/bin/env node
// Render every $$...$$ display of the Markdown on stdin with KaTeX (throwOnError, strict).
// Prints one JSON object: {"count": N, "errors": [{"index": i, "tex": ..., "message": ...}]};
// exits 1 when any display fails, 2 when there is none.
// With --documents, stdin is a JSON array of Markdown documents (one node start for many) and the
// output a JSON array of such objects, one per document; exits 1 when any display fails.
"use strict";
const katex = require("katex");

function report(markdown) {
  const displays = [...markdown.matchAll(/\$\$([\s\S]*?)\$\$/g)].map((m) => m[1].trim());
  const errors = [];
  displays.forEach((tex, index) => {
    try {
      katex.renderToString(tex, { displayMode: true, throwOnError: true, strict: "error" });
    } catch (err) {
      errors.push({ index, tex, message: String(err.message || err) });
    }
  });
  return { count: displays.length, errors };
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  if (process.argv.includes("--documents")) {
    const reports = JSON.parse(input).map(report);
    process.stdout.write(JSON.stringify(reports) + "\n");
    process.exit(reports.some((r) => r.errors.length) ? 1 : 0);
  }
  const one = report(input);
  process.stdout.write(JSON.stringify(one) + "\n");
  process.exit(one.errors.length ? 1 : one.count ? 0 : 2);
});
