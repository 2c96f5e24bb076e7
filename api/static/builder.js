/* The embed builder: the snippet from the form (an <iframe> that fits the page width at an aspect ratio, or of a
 * fixed size), live previews at the page's width and at a phone's (390 px), a copy button. */
(function () {
  "use strict";
  var form = document.getElementById("yb-form");
  var snippet = document.getElementById("yb-snippet");
  var previews = [
    {box: document.getElementById("yb-preview"), zh: "预览（电脑）", en: "preview (desktop)"},
    {box: document.getElementById("yb-preview-phone"), zh: "预览（手机）", en: "preview (phone)"}
  ];
  var RATIOS = {"4:3": 3 / 4, "16:9": 9 / 16, "1:1": 1, "3:4": 4 / 3};  // height over width
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
  function fixed() { return form.elements.sizing.value === "fixed"; }
  /* The snippet as elements. Styles are set through the CSSOM, not as style attributes: this page's CSP allows
   * none, and outerHTML writes them out as attributes for the union's page. A fixed size keeps max-width: 100%,
   * so a phone never scrolls sideways; the responsive box keeps its ratio by padding-top, which every browser
   * (old WebViews too) knows, unlike aspect-ratio. */
  function snippetElement(title) {
    var iframe = document.createElement("iframe");
    iframe.src = embedUrl();
    iframe.title = title;
    iframe.setAttribute("loading", "lazy");
    iframe.style.border = "0";
    if (fixed()) {
      iframe.width = String(size(form.elements.width, 600));
      iframe.height = String(size(form.elements.height, 450));
      iframe.style.maxWidth = "100%";
      return iframe;
    }
    var ratio = RATIOS[form.elements.ratio.value] || RATIOS["4:3"];
    var box = document.createElement("div");
    box.style.position = "relative";
    box.style.width = "100%";
    box.style.height = "0";
    box.style.paddingTop = (ratio * 100).toFixed(2) + "%";
    iframe.style.position = "absolute";
    iframe.style.top = "0";
    iframe.style.left = "0";
    iframe.style.width = "100%";
    iframe.style.height = "100%";
    box.appendChild(iframe);
    return box;
  }
  function update() {
    var english = form.elements.lang.value === "en";
    var title = english ? "Map of union service stations" : "工会驿站地图";
    form.elements.ratio.disabled = fixed();
    form.elements.width.disabled = !fixed();
    form.elements.height.disabled = !fixed();
    snippet.value = snippetElement(title).outerHTML;
    previews.forEach(function (preview) {  // each its own title: two frames of one page must be told apart
      preview.box.textContent = "";
      preview.box.appendChild(snippetElement(title + (english ? " — " + preview.en : "（" + preview.zh + "）")));
    });
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
