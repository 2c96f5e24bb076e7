// The keeper console's keeping pages (maps/console/keeping.py): the import's progress, polled from its status
// endpoint until the import is done; the likely duplicates of an import and the stations of the riders'
// reports on small Leaflet maps. Data comes from the JSON block #yz-keeping-data; user text reaches the page
// only through textContent (tooltips get DOM nodes, never HTML strings).
(function () {
  "use strict";
  var block = document.getElementById("yz-keeping-data");
  if (!block) { return; }
  var data = JSON.parse(block.textContent);
  var words = data.words || {};

  function text(value) {
    var span = document.createElement("span");
    span.textContent = value;
    return span;
  }

  function smallMap(id) {
    var element = document.getElementById(id);
    if (!element || typeof L === "undefined") { return null; }
    var map = L.map(element, { scrollWheelZoom: false });
    L.tileLayer(data.tiles, { attribution: data.attribution, maxZoom: 19 }).addTo(map);
    return map;
  }

  function latLng(point) { return [point[1], point[0]]; }

  function fit(map, points) {
    if (!points.length) { map.setView([30.25, 120.16], 12); return; }
    map.fitBounds(L.latLngBounds(points), { maxZoom: 17, padding: [20, 20] });
  }

  // import progress: poll the status until the job is no longer running, then show the result
  var job = document.getElementById("yz-job");
  if (job && data.status && (job.dataset.state === "checking" || job.dataset.state === "committing")) {
    var bar = document.getElementById("yz-bar");
    var stage = document.getElementById("yz-stage");
    var count = document.getElementById("yz-count");
    var statusUrl = window.location.pathname.replace(/\/$/, "") + "/status";
    var poll = function () {
      fetch(statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error(String(response.status)); }
          return response.json();
        })
        .then(function (status) {
          if (status.state !== "checking" && status.state !== "committing") {
            window.location.reload();
            return;
          }
          if (status.stage) { stage.textContent = data.stages[status.stage] || status.stage; }
          if (status.total) {
            bar.max = status.total;
            bar.value = Math.min(status.done, status.total);
            count.textContent = status.done + " / " + status.total;
          }
          window.setTimeout(poll, 700);
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    };
    window.setTimeout(poll, 400);
  }

  // likely duplicates: the new row (orange) and the station already there (blue), joined by a line
  var duplicates = data.duplicates || [];
  if (duplicates.length) {
    var dupMap = smallMap("yz-dup-map");
    if (dupMap) {
      var bounds = [];
      duplicates.forEach(function (pair) {
        var there = latLng(pair.at);
        bounds.push(there);
        L.circleMarker(there, { radius: 7, color: "#1f5fa8", fillOpacity: 0.8 })
          .bindTooltip(text(words.existing + "：" + pair.existing)).addTo(dupMap);
        if (pair.new_at) {
          var here = latLng(pair.new_at);
          bounds.push(here);
          L.polyline([here, there], { color: "#555", weight: 1, dashArray: "3 3" }).addTo(dupMap);
          L.circleMarker(here, { radius: 6, color: "#b35900", fillOpacity: 0.8 })
            .bindTooltip(text(words.row.replace("{0}", pair.row) + "：" + pair.name)).addTo(dupMap);
        }
      });
      fit(dupMap, bounds);
    }
  }

  // reports: each reported station on the map; "show on the map" centres it
  var reports = data.reports || [];
  if (reports.length) {
    var reportMap = smallMap("yz-report-map");
    if (reportMap) {
      var markers = {};
      var points = [];
      reports.forEach(function (report) {
        var at = latLng(report.at);
        points.push(at);
        markers[report.id] = L.marker(at, { title: "#" + report.id, alt: "#" + report.id, keyboard: false })
          .bindTooltip(text("#" + report.id + " " + report.name)).addTo(reportMap);
        if (report.reported_at) {
          var moved = latLng(report.reported_at);
          points.push(moved);
          L.circleMarker(moved, { radius: 6, color: "#b35900" })
            .bindTooltip(text("#" + report.id + " " + words.reported)).addTo(reportMap);
        }
      });
      fit(reportMap, points);
      Array.prototype.forEach.call(document.querySelectorAll(".yz-show"), function (button) {
        button.addEventListener("click", function () {
          var marker = markers[button.dataset.report];
          if (!marker) { return; }
          reportMap.setView(marker.getLatLng(), 17);
          marker.openTooltip();
          document.getElementById("yz-report-map").scrollIntoView({ block: "nearest" });
        });
      });
    }
  }
}());
