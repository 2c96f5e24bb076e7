// ESLint (flat config) for the browser code: the station app, the embed builder and the test probe.
// `make lint-js` runs it (and `make lint`/`make test` run that). The pages' scripts are classic scripts in
// the ES5 style they are written in (var, function expressions; no build step), so they are parsed as
// ECMAScript 5 scripts: newer syntax is an error, newer library calls (fetch, Set, URLSearchParams) are not.
import js from "@eslint/js";
import globals from "globals";

const common = {
  eqeqeq: ["error", "always"],
  "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
  "no-implicit-coercion": ["error", { allow: ["!!"] }],
  "no-new-func": "error",
  "no-eval": "error",
  "no-implied-eval": "error",
  "no-script-url": "error",
};

export default [
  { ignores: ["node_modules/", ".venv/", "maps/vendor/", "tests/artifacts/", "build/"] },
  js.configs.recommended,
  {
    files: ["maps/static/**/*.js", "api/static/**/*.js"],
    languageOptions: {
      ecmaVersion: 5,
      sourceType: "script",
      globals: { ...globals.es2021, ...globals.browser, L: "readonly" },
    },
    rules: { ...common, strict: ["error", "function"] },
  },
  {
    files: ["api/static/builder.js"],
    languageOptions: { globals: { EMBED_PATH: "readonly" } },  // written by the page (api/routes/pages.py)
  },
  {
    files: ["**/*.mjs"],
    languageOptions: { ecmaVersion: "latest", sourceType: "module", globals: { ...globals.node } },
    rules: common,
  },
];
