// The pure functions of the weekly hours editor (maps/static/hours_editor.js), for tests/maps/test_hours_editor.py:
// loads the script in a fresh V8 context with a stand-in window, then answers one JSON request a line on stdin
// ({"fn": name, "args": [...]}) with one JSON line on stdout ({"result": ...} or {"error": "..."}).
// Usage: node hours_editor_logic.mjs
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import vm from "node:vm";

const source = readFileSync(new URL("../../maps/static/hours_editor.js", import.meta.url), "utf8");
const window = {};
vm.runInNewContext(source, { window }, { filename: "hours_editor.js" });
const logic = window.YizhanHoursEditor.logic;

for await (const line of createInterface({ input: process.stdin })) {
  let answer;
  try {
    const { fn, args } = JSON.parse(line);
    const result = logic[fn](...args);
    answer = { result: result === undefined ? null : result };
  } catch (error) {
    answer = { error: String(error && error.stack ? error.stack : error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
