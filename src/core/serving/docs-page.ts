/**
 * GET /docs: one self-contained HTML page (no CDN, no external file) that renders the
 * OpenAPI document embedded in it: every route with its parameters and responses, the
 * input record's fields, and a form to try the POST routes from the browser. Text from
 * the spec is inserted with textContent only, never as HTML.
 */
export function renderDocsPage(spec: Readonly<Record<string, unknown>>): string {
  // "<" escaped so no string in the spec can close the script element.
  const embedded = JSON.stringify(spec).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  const title = String((spec.info as { title?: unknown } | undefined)?.title ?? 'mlctl serve').replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="data:,">
<style>
  body { font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 960px; padding: 1rem 1.5rem 4rem; color: #1d2430; }
  h1 { font-size: 1.6rem; margin-bottom: .2rem; }
  .route { border: 1px solid #d6dbe3; border-radius: 8px; margin: .8rem 0; padding: .6rem .9rem; }
  .method { display: inline-block; min-width: 4.2rem; font-weight: 700; font-family: ui-monospace, monospace; }
  .get { color: #11708a; } .post { color: #2b7a2b; } .patch { color: #9a6200; } .delete { color: #b02a2a; }
  code, pre, textarea { font-family: ui-monospace, monospace; font-size: 13px; }
  pre { background: #f5f7fa; padding: .6rem; border-radius: 6px; overflow: auto; }
  table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
  th, td { text-align: left; border-bottom: 1px solid #e3e7ee; padding: .25rem .5rem; vertical-align: top; }
  textarea { width: 100%; min-height: 12rem; box-sizing: border-box; }
  .muted { color: #5b6472; } .lock::after { content: " 🔒"; }
  button { margin: .4rem .4rem .4rem 0; }
</style>
</head>
<body>
<h1 id="title"></h1>
<p id="description" class="muted"></p>
<p class="muted">OpenAPI <span id="openapi-version"></span> · <a href="openapi.json">openapi.json</a></p>
<h2>Routes</h2>
<div id="routes"></div>
<h2 id="record-title">Input record</h2>
<table id="fields"><thead><tr><th>Field</th><th>Type</th><th>When missing (null, NaN)</th><th>Values</th><th>Training range</th><th>Description</th></tr></thead><tbody></tbody></table>
<script id="spec" type="application/json">${embedded}</script>
<script>
"use strict";
const spec = JSON.parse(document.getElementById("spec").textContent);
const el = (tag, props, ...children) => {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children) node.append(child);
  return node;
};
const resolveRef = (schema) => {
  if (schema && schema.$ref) return resolveRef(schema.$ref.split("/").slice(1).reduce((o, k) => o[k], spec));
  return schema;
};
document.getElementById("title").textContent = spec.info.title;
document.getElementById("description").textContent = spec.info.description || "";
document.getElementById("openapi-version").textContent = spec.openapi;
const routes = document.getElementById("routes");
for (const [path, operations] of Object.entries(spec.paths)) {
  for (const [method, op] of Object.entries(operations)) {
    const box = el("div", { className: "route", id: "route-" + method + "-" + path.replace(/[^a-z0-9]+/gi, "-") });
    const head = el("div", {}, el("span", { className: "method " + method, textContent: method.toUpperCase() }), el("code", { textContent: path }), " ", el("span", { className: "muted" + (op.security && op.security.length ? " lock" : ""), textContent: op.summary || "" }));
    box.append(head);
    if (op.parameters && op.parameters.length) {
      const table = el("table", {}, el("tr", {}, el("th", { textContent: "Parameter" }), el("th", { textContent: "In" }), el("th", { textContent: "Description" })));
      for (const p of op.parameters) table.append(el("tr", {}, el("td", {}, el("code", { textContent: p.name })), el("td", { textContent: p.in }), el("td", { textContent: p.description || "" })));
      box.append(table);
    }
    const codes = Object.entries(op.responses || {}).map(([code, r]) => code + " " + r.description).join(" · ");
    box.append(el("div", { className: "muted", textContent: "Responses: " + codes }));
    const example = op.requestBody && op.requestBody.content["application/json"] && op.requestBody.content["application/json"].example;
    if (method !== "get" && method !== "delete" && example !== undefined) {
      const body = el("textarea", { value: JSON.stringify(example, null, 2), className: "try-body" });
      const token = el("input", { type: "password", placeholder: "bearer token (if MLCTL_API_TOKEN is set)", size: 40 });
      const out = el("pre", { className: "try-result", textContent: "" });
      const send = el("button", { textContent: "Send", className: "try-send" });
      send.addEventListener("click", async () => {
        out.textContent = "…";
        const headers = { "content-type": "application/json" };
        if (token.value) headers.authorization = "Bearer " + token.value;
        try {
          const res = await fetch(path.replace(/^\\//, ""), { method: method.toUpperCase(), headers, body: body.value });
          const text = await res.text();
          let shown = text;
          try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch {}
          out.textContent = res.status + " " + res.statusText + "\\n" + shown;
        } catch (error) {
          out.textContent = String(error);
        }
      });
      box.append(el("details", {}, el("summary", { textContent: "Try it" }), body, token, send, out));
    }
    routes.append(box);
  }
}
// The model's own task names its record ("x-mlctl".recordSchema).
const recordName = (spec["x-mlctl"] && spec["x-mlctl"].recordSchema) || Object.keys(spec.components.schemas)[0];
document.getElementById("record-title").textContent = "Input record: " + recordName + " (task " + ((spec["x-mlctl"] && spec["x-mlctl"].task) || "?") + ")";
const record = resolveRef(spec.components.schemas[recordName]);
const tbody = document.querySelector("#fields tbody");
for (const [name, prop] of Object.entries(record.properties || {})) {
  const type = Array.isArray(prop.type) ? prop.type.join(" | ") : String(prop.type);
  const values = prop.enum ? prop.enum.filter((v) => v !== null).join(", ") : "";
  const range = prop["x-training-range"] ? prop["x-training-range"].min + " to " + prop["x-training-range"].max : "";
  const bounds = prop.minimum !== undefined || prop.maximum !== undefined ? " (allowed " + (prop.minimum ?? "…") + " to " + (prop.maximum ?? "…") + ")" : "";
  tbody.append(el("tr", { className: "field" }, el("td", {}, el("code", { textContent: name })), el("td", { textContent: type }), el("td", { textContent: type.includes("null") ? "imputed" : "refused" }), el("td", { textContent: values }), el("td", { textContent: range + bounds }), el("td", { className: "muted", textContent: prop.description || "" })));
}
</script>
</body>
</html>
`;
}
