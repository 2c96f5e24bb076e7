/* Yizhan keeper console, shared by every console page (maps/console/layout.py inlines it).
 *
 * - CSRF: every same-origin fetch that writes (not GET/HEAD) carries the session's token as X-CSRF-Token (from
 *   <meta name="csrf-token">); every POST form gets a hidden csrf_token field if its template left it out.
 * - Drafts: before a form posts, its fields are kept in sessionStorage under the page's path. When the session
 *   had expired, the server sends the browser to the sign-in page (?next=this page); after signing in, the page
 *   opens again, finds its draft and fills the form back in, with a notice. Any other console page load means
 *   the post went through (or was answered with the form again), so the drafts are dropped then.
 *   A fetch that ends on the sign-in page (session expired) keeps the page's forms the same way and goes there.
 *   Pages' own scripts may listen for "yizhan:draft-restored" on a form to redraw widgets from its fields.
 * No inline handlers anywhere (the pages' CSP allows only their own inline scripts, by hash).
 */
(function () {
  "use strict";
  var DRAFT = "yizhan:draft:";
  var RESUME = "yizhan:resume";
  var LOGIN_PATH = "/console/login";
  var SKIPPED_TYPES = { password: 1, file: 1, submit: 1, button: 1, reset: 1, image: 1 };

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  function storage() {
    try {
      return window.sessionStorage;
    } catch (e) {
      return null; // storage disabled: forms still work, without drafts
    }
  }

  function draftForms() {
    return Array.prototype.filter.call(document.querySelectorAll("form"), function (form) {
      return (form.getAttribute("method") || "get").toLowerCase() === "post" && !form.hasAttribute("data-no-draft");
    });
  }

  function formKey(form, index) {
    return DRAFT + window.location.pathname + "#" + (form.id || String(index));
  }

  function keptField(element) {
    return element.name && element.name !== "csrf_token" && !SKIPPED_TYPES[element.type] && !element.disabled;
  }

  function fieldsOf(form) {
    var fields = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!keptField(element)) return;
      var values = fields[element.name] || (fields[element.name] = []);
      if (element.type === "checkbox" || element.type === "radio") {
        if (element.checked) values.push(element.value);
      } else if (element.type === "select-multiple") {
        Array.prototype.forEach.call(element.options, function (option) {
          if (option.selected) values.push(option.value);
        });
      } else {
        values.push(element.value);
      }
    });
    return fields;
  }

  function saveDraft(form, index) {
    var store = storage();
    if (!store) return;
    try {
      store.setItem(formKey(form, index), JSON.stringify({ fields: fieldsOf(form), saved: Date.now() }));
    } catch (e) {
      /* storage full: nothing to keep */
    }
  }

  function saveDrafts() {
    draftForms().forEach(saveDraft);
  }

  function clearDrafts() {
    var store = storage();
    if (!store) return;
    var keys = [];
    for (var i = 0; i < store.length; i += 1) {
      var key = store.key(i);
      if (key && key.indexOf(DRAFT) === 0) keys.push(key);
    }
    keys.forEach(function (key) {
      store.removeItem(key);
    });
  }

  function fill(form, fields) {
    var seen = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!keptField(element) || !Object.prototype.hasOwnProperty.call(fields, element.name)) return;
      var values = fields[element.name];
      if (element.type === "checkbox" || element.type === "radio") {
        element.checked = values.indexOf(element.value) >= 0;
      } else if (element.type === "select-multiple") {
        Array.prototype.forEach.call(element.options, function (option) {
          option.selected = values.indexOf(option.value) >= 0;
        });
      } else {
        var position = seen[element.name] || 0;
        seen[element.name] = position + 1;
        if (position < values.length) element.value = values[position];
      }
      element.dispatchEvent(new Event("input", { bubbles: true }));
      element.dispatchEvent(new Event("change", { bubbles: true }));
    });
    form.dispatchEvent(new CustomEvent("yizhan:draft-restored", { bubbles: true }));
  }

  function restoreDrafts() {
    var store = storage();
    if (!store) return false;
    var restored = false;
    draftForms().forEach(function (form, index) {
      var text = store.getItem(formKey(form, index));
      if (!text) return;
      try {
        fill(form, JSON.parse(text).fields || {});
        restored = true;
      } catch (e) {
        /* a draft that cannot be read is dropped below */
      }
    });
    return restored;
  }

  function addCsrfFields() {
    var token = csrfToken();
    if (!token) return;
    draftForms()
      .concat(Array.prototype.slice.call(document.querySelectorAll("form[data-no-draft]")))
      .forEach(function (form) {
        if ((form.getAttribute("method") || "get").toLowerCase() !== "post" || form.elements.csrf_token) return;
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = "csrf_token";
        input.value = token;
        form.appendChild(input);
      });
  }

  function onSignInPage() {
    return window.location.pathname === LOGIN_PATH;
  }

  // fetch: the CSRF header on same-origin writes; a write that lands on the sign-in page keeps the forms
  var originalFetch = window.fetch ? window.fetch.bind(window) : null;
  if (originalFetch) {
    window.fetch = function (resource, init) {
      var options = init || {};
      var method = (options.method || (resource && resource.method) || "GET").toUpperCase();
      var url = new URL(typeof resource === "string" ? resource : resource.url, window.location.href);
      if (url.origin === window.location.origin && method !== "GET" && method !== "HEAD") {
        var headers = new Headers(options.headers || (resource && resource.headers) || {});
        if (!headers.has("X-CSRF-Token")) headers.set("X-CSRF-Token", csrfToken());
        options = Object.assign({}, options, { headers: headers });
      }
      return originalFetch(resource, options).then(function (response) {
        if (response.redirected && new URL(response.url).pathname === LOGIN_PATH && !onSignInPage()) {
          saveDrafts();
          window.location.assign(response.url);
        }
        return response;
      });
    };
  }

  function start() {
    addCsrfFields();
    var store = storage();
    if (onSignInPage()) {
      var signIn = document.getElementById("yz-signin-form");
      if (signIn && store) {
        signIn.addEventListener("submit", function () {
          try {
            store.setItem(RESUME, "1");
          } catch (e) {
            /* no storage: no drafts either */
          }
        });
      }
    } else {
      var resuming = store && store.getItem(RESUME);
      if (store) store.removeItem(RESUME);
      var restored = resuming ? restoreDrafts() : false;
      clearDrafts();
      if (restored) {
        var notice = document.getElementById("yz-restored");
        if (notice) notice.hidden = false;
      }
    }
    draftForms().forEach(function (form, index) {
      form.addEventListener("submit", function () {
        saveDraft(form, index);
      });
    });
  }

  window.yizhanConsole = { csrfToken: csrfToken, saveDrafts: saveDrafts, clearDrafts: clearDrafts };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
