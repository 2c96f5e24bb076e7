/* The console's station form and view (maps/console/stations.py): a Leaflet map of the station's position.
 *
 * The form's coordinates are in the coordinate system of the map's tiles (GCJ-02 for Amap's, WGS84 otherwise),
 * so the pin and the fields hold the same numbers: clicking the map places the pin, dragging it moves it, and
 * either writes the fields; typing in the fields moves the pin. The read-only view shows a pin that does not
 * move. When the weekly hours editor (hours_editor.js) is on the page, it is attached to the hours field.
 * No station text is put into the page here: the configuration carries numbers and the operator's tiles. */
(function () {
  "use strict";

  var DECIMALS = 6;
  var configNode = document.getElementById("yz-station-map-config");
  var mapNode = document.getElementById("yz-station-map");
  if (!configNode || !mapNode || typeof L === "undefined") { return; }
  var config = JSON.parse(configNode.textContent);
  var lonInput = document.getElementById("f-lon");
  var latInput = document.getElementById("f-lat");

  function escaped(text) {
    var node = document.createElement("span");
    node.textContent = text || "";
    return node.innerHTML;
  }

  function number(text) {
    var trimmed = String(text === null || text === undefined ? "" : text).trim();
    if (trimmed === "") { return null; }
    var value = Number(trimmed);
    return isFinite(value) ? value : null;
  }

  var map = L.map(mapNode, {zoomControl: true});
  if (config.tiles) {
    L.tileLayer(config.tiles, {attribution: escaped(config.attribution), maxZoom: 19}).addTo(map);
  }
  var marker = null;
  var lon = number(config.lon);
  var lat = number(config.lat);

  function writeFields(latlng) {
    if (!lonInput || !latInput) { return; }
    lonInput.value = latlng.lng.toFixed(DECIMALS);
    latInput.value = latlng.lat.toFixed(DECIMALS);
    [lonInput, latInput].forEach(function (input) {
      input.dispatchEvent(new Event("input", {bubbles: true}));
      input.dispatchEvent(new Event("change", {bubbles: true}));
    });
  }

  function place(latlng) {
    if (marker) {
      marker.setLatLng(latlng);
      return;
    }
    marker = L.marker(latlng, {draggable: !!config.editable, title: config.label, alt: config.label, autoPan: true});
    marker.addTo(map);
    if (config.editable) {
      marker.on("dragend", function () { writeFields(marker.getLatLng()); });
    }
  }

  if (lon !== null && lat !== null && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
    map.setView([lat, lon], 16);
    place(L.latLng(lat, lon));
  } else {
    map.setView(config.centre || [30.25, 120.16], 12);
  }

  if (config.editable) {
    map.on("click", function (event) {
      place(event.latlng);
      writeFields(event.latlng);
    });
    var fromFields = function () {
      var x = number(lonInput && lonInput.value);
      var y = number(latInput && latInput.value);
      if (x === null || y === null || Math.abs(y) > 90 || Math.abs(x) > 180) { return; }
      place(L.latLng(y, x));
      map.panTo([y, x]);
    };
    if (lonInput) { lonInput.addEventListener("change", fromFields); }
    if (latInput) { latInput.addEventListener("change", fromFields); }
    document.addEventListener("yizhan:draft-restored", fromFields);  // console.js refilled the form after sign-in
    var hours = document.getElementById("f-opening_hours");
    if (hours && window.YizhanHoursEditor && typeof window.YizhanHoursEditor.attach === "function") {
      window.YizhanHoursEditor.attach(hours, {lang: config.lang});
    }
  }
  window.yizhanStationMap = {map: map, marker: function () { return marker; }};
}());
