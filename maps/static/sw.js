/* Yizhan 驿站 service worker: the rider page keeps working in a dead zone. Served by GET /sw.js (maps/offline.py,
 * api/routes/pages.py; scope "/"), registered by maps/static/app.js in mode "rider" only (not by embeds or the
 * static export), on https or localhost. The "v" of its URL is the app's version: the caches are named by it, and
 * a new version drops the old caches.
 *
 * - The page ("/", whatever its query: the app reads the query, the HTML is the same), the district list and
 *   same-origin scripts, styles, fonts and images are network-first: each answer from the network is kept and
 *   given back when the network is gone. The page is also kept when the worker installs (from the HTTP cache,
 *   where the page that registered the worker just put it).
 * - GET /stations/nearby is network-first too. Each answer is saved with the time it came (X-Yizhan-Saved); the
 *   newest KEEP_ANSWERS stay. With no network, the answer saved with the same filters for the position nearest
 *   the one asked (within NEAR_M metres) stands in, marked X-Yizhan-Offline: <ISO time it was saved> and
 *   X-Yizhan-Offline-Distance-M: <metres between the two positions>; with none that near, a 503 marked
 *   X-Yizhan-Offline: none. The page shows such an answer as saved, with its age, never as live.
 * - Only same-origin GET requests are touched; an HTTP error from the server is passed on as it is (the network
 *   is there); tiles and everything else go to the network as if there were no worker. */
(function (worker) {
  "use strict";
  var VERSION = new URL(worker.location.href).searchParams.get("v") || "dev";
  var PAGE_CACHE = "yizhan-page-" + VERSION;
  var ANSWER_CACHE = "yizhan-answers-" + VERSION;
  var KEEP_ANSWERS = 10;
  var NEAR_M = 1000;
  var NEARBY_PATH = "/stations/nearby";
  var KEPT_PATHS = ["/districts"];
  var KEPT_DESTINATIONS = ["script", "style", "font", "image"];
  var SAVED = "X-Yizhan-Saved";
  var OFFLINE = "X-Yizhan-Offline";
  var OFFLINE_DISTANCE = "X-Yizhan-Offline-Distance-M";
  var EARTH_RADIUS_M = 6371008.8;

  /* Great-circle distance in metres between two (lon, lat) points in degrees (haversine, mean Earth radius). */
  function distanceM(lon1, lat1, lon2, lat2) {
    var rad = Math.PI / 180;
    var a = Math.pow(Math.sin((lat2 - lat1) * rad / 2), 2) +
      Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.pow(Math.sin((lon2 - lon1) * rad / 2), 2);
    return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(Math.min(1, Math.max(0, a))));
  }

  /* A /stations/nearby URL as {lon, lat, rest}: the position asked for, and everything else (path and the other
   * parameters, sorted) as one string; null without a numeric lon and lat. */
  function parseAnswerUrl(url) {
    var parsed = new URL(url);
    var query = parsed.searchParams;
    var lon = query.get("lon"), lat = query.get("lat");
    if (!lon || !lat || !isFinite(Number(lon)) || !isFinite(Number(lat))) { return null; }
    var rest = [];
    query.forEach(function (value, name) {
      if (name !== "lon" && name !== "lat") { rest.push(encodeURIComponent(name) + "=" + encodeURIComponent(value)); }
    });
    rest.sort();
    return {lon: Number(lon), lat: Number(lat), rest: parsed.origin + parsed.pathname + "?" + rest.join("&")};
  }

  /* Which saved answer stands in for the URL `wanted`: of those asked with the same filters (`saved`: [{url,
   * savedAt}], savedAt in ms), the one asked nearest the same position, within `nearM` metres; ties go to the
   * newest, then to the first URL in code-unit order. {index, distanceM}, index -1 when none is near enough. */
  function pickSaved(wanted, saved, nearM) {
    var asked = parseAnswerUrl(wanted);
    var best = {index: -1, distanceM: Infinity};
    if (!asked) { return best; }
    saved.forEach(function (entry, index) {
      var then = parseAnswerUrl(entry.url);
      if (!then || then.rest !== asked.rest) { return; }
      var metres = distanceM(asked.lon, asked.lat, then.lon, then.lat);
      if (metres > nearM) { return; }
      var other = best.index >= 0 ? saved[best.index] : null;
      if (!other || metres < best.distanceM ||
          (metres === best.distanceM && (entry.savedAt > other.savedAt ||
            (entry.savedAt === other.savedAt && entry.url < other.url)))) {
        best = {index: index, distanceM: metres};
      }
    });
    return best;
  }

  /* The URLs of saved answers beyond the newest `keep` (ties: the first URL in code-unit order is kept). */
  function surplus(saved, keep) {
    var order = saved.slice().sort(function (a, b) {
      return b.savedAt - a.savedAt || (a.url < b.url ? -1 : a.url > b.url ? 1 : 0);
    });
    return order.slice(keep).map(function (entry) { return entry.url; });
  }

  /* `response` again, with `extra` headers set; Content-Encoding and -Length go: the body is already decoded. */
  function withHeaders(response, extra) {
    return response.blob().then(function (body) {
      var headers = new Headers(response.headers);
      headers.delete("Content-Encoding");
      headers.delete("Content-Length");
      Object.keys(extra).forEach(function (name) { headers.set(name, extra[name]); });
      return new Response(body, {status: response.status, statusText: response.statusText, headers: headers});
    });
  }

  function savedAnswers(cache) {
    return cache.keys().then(function (requests) {
      return Promise.all(requests.map(function (request) {
        return cache.match(request, {ignoreVary: true}).then(function (response) {
          var savedAt = Date.parse(response ? response.headers.get(SAVED) || "" : "");
          return {request: request, url: request.url, savedAt: isFinite(savedAt) ? savedAt : 0};
        });
      }));
    });
  }

  function saveAnswer(url, response, savedAt) {
    var marks = {};
    marks[SAVED] = new Date(savedAt).toISOString();
    return withHeaders(response, marks).then(function (copy) {
      return caches.open(ANSWER_CACHE).then(function (cache) {
        return cache.put(url, copy).then(function () { return savedAnswers(cache); }).then(function (saved) {
          return Promise.all(surplus(saved, KEEP_ANSWERS).map(function (old) { return cache.delete(old); }));
        });
      });
    });
  }

  function noSavedAnswer() {
    var headers = {"Content-Type": "application/json"};
    headers[OFFLINE] = "none";
    var body = {detail: "offline: no answer saved near this position with these filters"};
    return new Response(JSON.stringify(body), {status: 503, headers: headers});
  }

  function standIn(url) {
    return caches.open(ANSWER_CACHE).then(function (cache) {
      return savedAnswers(cache).then(function (saved) {
        var pick = pickSaved(url, saved, NEAR_M);
        if (pick.index < 0) { return noSavedAnswer(); }
        var entry = saved[pick.index];
        return cache.match(entry.request, {ignoreVary: true}).then(function (response) {
          if (!response) { return noSavedAnswer(); }
          var marks = {};
          marks[OFFLINE] = new Date(entry.savedAt).toISOString();
          marks[OFFLINE_DISTANCE] = String(Math.round(pick.distanceM));
          return withHeaders(response, marks);
        });
      });
    });
  }

  function nearby(event) {
    var request = event.request;
    return fetch(request).then(function (response) {
      if (response.ok) { event.waitUntil(saveAnswer(request.url, response.clone(), Date.now())); }
      return response;
    }, function () { return standIn(request.url); });
  }

  function networkFirst(event, key) {
    return fetch(event.request).then(function (response) {
      if (response.ok && response.type === "basic") {
        var copy = response.clone();
        event.waitUntil(caches.open(PAGE_CACHE).then(function (cache) { return cache.put(key, copy); }));
      }
      return response;
    }, function () {
      return caches.open(PAGE_CACHE).then(function (cache) { return cache.match(key, {ignoreVary: true}); })
        .then(function (kept) { return kept || Response.error(); });
    });
  }

  worker.addEventListener("install", function (event) {
    // the page that registers the worker was just loaded: take it from the HTTP cache rather than download it again
    event.waitUntil(caches.open(PAGE_CACHE).then(function (cache) {
      return cache.add(new Request("/", {cache: "force-cache"}));
    }).then(function () { return worker.skipWaiting(); }));
  });

  worker.addEventListener("activate", function (event) {
    event.waitUntil(caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("yizhan-") === 0 && name !== PAGE_CACHE && name !== ANSWER_CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return worker.clients.claim(); }));
  });

  worker.addEventListener("fetch", function (event) {
    var request = event.request;
    var url = new URL(request.url);
    if (request.method !== "GET" || url.origin !== worker.location.origin) { return; }
    if (url.pathname === NEARBY_PATH) {
      event.respondWith(nearby(event));
    } else if (request.mode === "navigate" && url.pathname === "/") {
      event.respondWith(networkFirst(event, url.origin + "/"));  // the same page for any query
    } else if (KEPT_PATHS.indexOf(url.pathname) >= 0 || KEPT_DESTINATIONS.indexOf(request.destination) >= 0) {
      event.respondWith(networkFirst(event, url.href));
    }
  });

  worker.yizhanOffline = {distanceM: distanceM, parseAnswerUrl: parseAnswerUrl, pickSaved: pickSaved, surplus: surplus};
})(self);
