// Open a map page in a running headless Chromium (DevTools protocol) and report what a user would meet:
// every popup and tooltip opened once (their text), the boxes, layer names, network requests, alerts,
// errors and elements a hostile name could have injected. Usage: node browser_probe.mjs PORT URL
const [port, url] = process.argv.slice(2);
const target = await (await fetch(`http://127.0.0.1:${port}/json/new?about:blank`, { method: "PUT" })).json();
const ws = new WebSocket(target.webSocketDebuggerUrl);
const pending = new Map();
const events = [];
let next = 0;
ws.onmessage = (message) => {
  const data = JSON.parse(message.data);
  if (data.id && pending.has(data.id)) {
    pending.get(data.id)(data);
    pending.delete(data.id);
  } else {
    events.push(data);
  }
};
await new Promise((resolve) => (ws.onopen = resolve));
const send = (method, params = {}) =>
  new Promise((resolve) => {
    const id = ++next;
    pending.set(id, resolve);
    ws.send(JSON.stringify({ id, method, params }));
  });
const evaluate = async (expression) => {
  const { result } = await send("Runtime.evaluate", { expression, returnByValue: true });
  if (result.exceptionDetails) throw new Error(result.exceptionDetails.exception?.description);
  return result.result.value;
};

await send("Runtime.enable");
await send("Network.enable");
await send("Page.enable");
await send("Page.addScriptToEvaluateOnNewDocument", {
  source: `window.__alerts = [];
    for (const name of ["alert", "confirm", "prompt"]) window[name] = (x) => window.__alerts.push(String(x));
    window.__errors = [];
    window.addEventListener("error", (e) => window.__errors.push(String(e.message)));`,
});
await send("Page.navigate", { url });
for (let i = 0; i < 100 && !(await evaluate(`document.readyState === "complete" && !!window.L`)); i++) {
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const report = await evaluate(`(() => {
  const map = Object.values(window).find((value) => value instanceof L.Map);
  const out = { leaflet: L.version, popups: [], tooltips: [] };
  map.eachLayer((layer) => {
    const at = () => (layer.getLatLng ? layer.getLatLng() : layer.getBounds().getCenter());
    // layers inside a cluster are not on the map until zoomed in: only what is drawn can open
    if (layer.getPopup && layer.getPopup()) {
      layer.openPopup(at());
      const element = layer.getPopup().getElement();
      if (element) out.popups.push(element.querySelector(".leaflet-popup-content").textContent);
      layer.closePopup();
    }
    if (layer.getTooltip && layer.getTooltip()) {
      layer.openTooltip(at());
      const element = layer.getTooltip().getElement();
      if (element) out.tooltips.push(element.textContent);
      layer.closeTooltip();
    }
  });
  out.boxes = [...document.querySelectorAll(".yizhan-box")].map((box) => box.textContent);
  out.layerNames = [...document.querySelectorAll(".leaflet-control-layers-overlays label")].map((l) => l.textContent.trim());
  out.attribution = document.querySelector(".leaflet-control-attribution").textContent;
  out.injected = document.querySelectorAll("img[src=x], svg[onload], [onerror], [onload]").length;
  out.canvases = document.querySelectorAll(".leaflet-overlay-pane canvas").length;
  out.clusters = document.querySelectorAll(".marker-cluster").length;
  out.alerts = window.__alerts;
  out.errors = window.__errors;
  return out;
})()`);
report.requests = events.filter((e) => e.method === "Network.requestWillBeSent").map((e) => e.params.request.url);
report.exceptions = events
  .filter((e) => e.method === "Runtime.exceptionThrown")
  .map((e) => e.params.exceptionDetails.exception?.description || e.params.exceptionDetails.text);
console.log(JSON.stringify(report));
ws.close();
process.exit(0);
