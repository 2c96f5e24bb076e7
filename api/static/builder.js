/* The embed builder: the <iframe> snippet from the form, a live preview, a copy button. */
(function () {
  "use strict";
  var form = document.getElementById("yb-form");
  var snippet = document.getElementById("yb-snippet");
  var preview = document.getElementById("yb-preview");
  function size(input, fallback) {
    var value = parseInt(input.value, 10);
    return isFinite(value) ? Math.min(2000, Math.max(200, value)) : fallback;
  }
  function embedUrl() {
    var query = new URLSearchParams();
    var adcode = form.elements.adcode.value;
    if (adcode) { query.set("adcode", adcode); }
    var types = Array.prototype.filter.call(form.querySelectorAll("input[name=types]"), function (box) {
      return box.checked;
    }).map(function (box) { return box.value; });
    if (types.length) { query.set("types", types.join(",")); }
    query.set("lang", form.elements.lang.value);
    if (!form.elements.controls.checked) { query.set("controls", "false"); }
    return window.location.origin + EMBED_PATH + "?" + query.toString();
  }
  function update() {
    var iframe = document.createElement("iframe");
    iframe.src = embedUrl();
    iframe.width = String(size(form.elements.width, 600));
    iframe.height = String(size(form.elements.height, 450));
    iframe.title = form.elements.lang.value === "en" ? "Map of union service stations" : "工会驿站地图";
    iframe.style.border = "0";  // CSSOM, not a style attribute: the page's CSP allows no inline style attributes
    iframe.setAttribute("loading", "lazy");
    snippet.value = iframe.outerHTML;
    preview.textContent = "";
    preview.appendChild(iframe);
  }
  form.addEventListener("change", update);
  form.addEventListener("input", update);
  document.getElementById("yb-copy").addEventListener("click", function () {
    snippet.select();
    var done = function () { document.getElementById("yb-copied").textContent = "已复制 Copied"; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(snippet.value).then(done, function () { document.execCommand("copy"); done(); });
    } else { document.execCommand("copy"); done(); }
  });
  update();
})();
