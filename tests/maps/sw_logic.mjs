// The pure functions of the rider page's service worker (maps/static/sw.js), for
// tests/maps/test_service_worker_logic.py: loads the script in a fresh V8 context with a stand-in worker global,
// then answers one JSON request a line on stdin ({"fn": name, "args": [...]}) with one JSON line on stdout
// ({"result": ...} or {"error": "..."}). Usage: node sw_logic.mjs
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import vm from "node:vm";

const source = readFileSync(new URL("../../maps/static/sw.js", import.meta.url), "utf8");
const worker = {
  location: { href: "https://yizhan.test/sw.js?v=test", origin: "https://yizhan.test" },
  addEventListener() {},
};
vm.runInNewContext(source, { self: worker, URL, URLSearchParams }, { filename: "sw.js" });
const logic = worker.yizhanOffline;

for await (const line of createInterface({ input: process.stdin })) {
  let answer;
  try {
    const { fn, args } = JSON.parse(line);
    answer = { result: logic[fn](...args) };
  } catch (error) {
    answer = { error: String(error && error.stack ? error.stack : error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
