// symbackprop practice: draws the page from /api/exercise, previews, checks and reveals through the JSON API.
// Stateless: the seed is in the address and in every request; nothing is stored anywhere.
"use strict";

const state = { seed: null, timers: {} };

// \left( ... \right) as plain brackets, as the PDFs set them (mleftright): sigma(0.455), not sigma (0.455)
function bracketed(latex) {
  return latex.replace(/\\left(?![a-zA-Z])/g, "\\mathopen{}\\left").replace(/\\right(?![a-zA-Z])(\\[a-zA-Z]+|\\.|.)/g, "\\right$1\\mathclose{}");
}

function tex(el, latex, display = false) {
  el.textContent = "";
  if (!latex) return;
  try { katex.render(bracketed(latex), el, { throwOnError: false, displayMode: display }); }
  catch (err) { el.textContent = latex; }
}

function make(tag, cls, text) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text) el.textContent = text;
  return el;
}

async function api(path, body) {
  const init = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" },
                                           body: JSON.stringify(body) };
  const response = await fetch(path, init);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function status(text, error) {
  const el = document.getElementById("status");
  el.textContent = text;
  el.className = error ? "error" : "";
}

function randomSeed() { return Math.floor(Math.random() * 1000000); }

async function load() {
  const params = new URLSearchParams(location.search);
  let seed = params.get("seed");
  if (seed === null || !/^\d{1,9}$/.test(seed)) {
    seed = String(randomSeed());
    history.replaceState(null, "", "?seed=" + seed);
  }
  state.seed = Number(seed);
  status("drawing exercise " + seed + " ...");
  try { render(await api("/api/exercise?seed=" + seed)); status(""); }
  catch (err) { status(err.message, true); }
}

function render(data) {
  document.getElementById("seed-label").textContent = "exercise " + data.seed;
  document.getElementById("decimals").textContent = data.decimals;
  if (data.title) document.getElementById("title").textContent = data.title;
  const diagram = document.getElementById("diagram");
  diagram.innerHTML = data.svg;  // built by the server from numbers and names; labels escaped there
  diagram.querySelectorAll("span.tex").forEach((el) => tex(el, el.dataset.tex));
  const table = make("div", "values");
  for (const g of data.given) {
    const cell = make("span");
    tex(cell, g.latex + " = " + g.value);
    table.appendChild(cell);
  }
  const given = document.getElementById("given");
  given.textContent = "";
  given.appendChild(make("h2", "", "Given"));
  given.appendChild(table);
  if (data.rule.length) {  // an [optimizer] spec: its update rule, written for one parameter
    given.appendChild(make("p", "", data.rule_title));
    for (const line of data.rule) {
      const cell = make("div", "rule");
      tex(cell, line, true);
      given.appendChild(cell);
    }
  }
  if (data.gates) {  // a computation graph: each gate's formula
    given.appendChild(make("h2", "", "Gates"));
    const gates = make("div", "values gates");
    for (const line of data.gates) {
      const cell = make("span");
      tex(cell, line);
      gates.appendChild(cell);
    }
    given.appendChild(gates);
  }
  if (data.examples) {  // a computation graph: formulas in its own names
    const examples = document.getElementById("examples");
    examples.textContent = "";
    data.examples.forEach((text, i) => {
      if (i) examples.appendChild(document.createTextNode(", "));
      examples.appendChild(make("code", "", text));
    });
  }
  const form = document.getElementById("tasks");
  form.textContent = "";
  for (const task of data.tasks) {
    form.appendChild(make("h2", "", task.title));
    for (const item of task.items) form.appendChild(row(item));
  }
}

function row(item) {
  const div = make("div", "row");
  div.dataset.name = item.name;
  const label = make("label", "label");
  tex(label, "\\displaystyle " + item.latex + " =");  // a fraction at full size, as on the sheet
  const cell = make("div");
  const input = make("input");
  input.name = item.name;
  input.setAttribute("aria-label", item.name);
  input.spellcheck = false;
  const preview = make("div", "preview");
  cell.appendChild(input); cell.appendChild(preview);
  const out = make("div");
  const verdict = make("span", "verdict"), why = make("span", "why");
  const button = make("button", "small", "show the step");
  button.type = "button";
  const step = make("div", "step");
  step.hidden = true;
  out.appendChild(verdict); out.appendChild(document.createTextNode(" ")); out.appendChild(why);
  out.appendChild(document.createTextNode(" ")); out.appendChild(button); out.appendChild(step);
  div.appendChild(label); div.appendChild(cell); div.appendChild(out);
  input.addEventListener("input", () => {
    clearTimeout(state.timers[item.name]);
    state.timers[item.name] = setTimeout(() => showPreview(input.value, preview), 250);
  });
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); check(); } });
  button.addEventListener("click", () => showStep(item.name, step));
  return div;
}

async function showPreview(text, el) {
  try {
    const data = await api("/api/preview", { seed: state.seed, text: text });
    el.className = data.error ? "preview bad" : "preview";
    if (data.error) el.textContent = data.error; else tex(el, data.latex);
  } catch (err) { el.className = "preview bad"; el.textContent = err.message; }
}

async function showStep(name, el) {
  try {
    const data = await api("/api/step?seed=" + state.seed + "&name=" + encodeURIComponent(name));
    tex(el, data.latex);
    el.hidden = false;
  } catch (err) { status(err.message, true); }
}

async function solution() {
  try {
    const data = await api("/api/solution?seed=" + state.seed);
    for (const s of data.steps) {
      const el = document.querySelector(`.row[data-name="${CSS.escape(s.name)}"] .step`);
      if (el) { tex(el, s.latex); el.hidden = false; }
    }
  } catch (err) { status(err.message, true); }
}

async function check() {
  const answers = {};
  document.querySelectorAll("#tasks input").forEach((input) => { if (input.value.trim()) answers[input.name] = input.value; });
  status("checking ...");
  try {
    const data = await api("/api/check", { seed: state.seed, answers: answers });
    document.querySelectorAll("#tasks .row").forEach((div) => {
      const r = data.rows[div.dataset.name];
      const verdict = div.querySelector(".verdict"), why = div.querySelector(".why");
      verdict.textContent = r ? r.label : "";
      verdict.className = "verdict" + (r ? " v-" + r.verdict : "");
      why.textContent = "";
      if (!r) return;
      if (r.why_parts.length) {
        for (const [text, latex] of r.why_parts) {
          const span = make("span");
          if (latex) tex(span, latex); else span.textContent = text;
          why.appendChild(span);
        }
      } else why.textContent = r.why;
    });
    document.getElementById("totals").textContent = data.totals;
    status("");
  } catch (err) { status(err.message, true); }
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("new").addEventListener("click", () => { location.search = "?seed=" + randomSeed(); });
  document.getElementById("check").addEventListener("click", check);
  document.getElementById("check-top").addEventListener("click", check);
  document.getElementById("solution").addEventListener("click", solution);
  load();
});
