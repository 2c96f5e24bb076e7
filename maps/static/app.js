/* Yizhan 驿站 station app: the rider page (mode "rider"), the embeddable map ("embed") and the static
 * export ("static"). No build step, no libraries beyond Leaflet (inlined by maps.page.self_contained).
 *
 * Every piece of data (names, addresses, hours...) is put into the page with textContent or as an
 * attribute through the DOM API, never as markup. Links are set only when they start with https: or geo:.
 * Coordinates on the map are in config.tiles_crs: WGS84, or GCJ-02 for Amap/Tencent tiles. The API is asked
 * for answers in that system; a GPS position (WGS84) is sent as it is, with position_crs=wgs84, and the
 * rider is drawn where the answer's "query" point says (the API shifts it; there is no datum formula here).
 *
 * The words of the registry come from the configuration: config.station_types and config.amenities (the
 * names, in order) and config.labels.zh / config.labels.en (their labels), from stations.vocabulary. */
/* exported yizhanApp -- called by the page maps.stations builds, after Leaflet made the map */
function yizhanApp(map, config) {
  "use strict";
  var TYPES = config.station_types || [];
  var AMENITIES = config.amenities || [];
  var NAV = ["amap", "baidu", "tencent", "geo"];
  var WALK_M_PER_MIN = 80;
  var RIDE_M_PER_MIN = 250;
  var DRIVE_M_PER_MIN = 400;  // about 24 km/h: city traffic
  var WALK_MAX_M = 3000;  // walking time only this near; farther: riding (driving to a driver home)
  var NEARBY_K = 20;
  var CLUSTER_ABOVE = 60;
  var PIN_BOX = 44;  // a marker's tap box in CSS px (its dot is smaller); boxes never overlap (spreadPins)
  var TEXT = {
    zh: {
      full_map: "查看完整地图", gesture_wheel: "点击地图后可用滚轮缩放", gesture_touch: "使用双指移动地图",
      asked_view: "显示嵌入地图所在的位置。",
      title: "驿站 · 附近的服务站", lang_switch: "English", skip: "跳到服务站列表", filters: "筛选",
      locate: "定位我", district: "或选择区县", district_none: "或选择区县…", types: "类型", amenities: "设施",
      open_now: "现在开放", locating: "正在定位…", located: "已定位。", start: "点击“定位我”，或点击地图、选择区县来查找附近的服务站。",
      denied: "无法定位：您拒绝了位置权限。请点击地图选择位置，或选择区县。",
      unavailable: "无法定位：此设备或浏览器不能提供位置。请点击地图选择位置，或选择区县。",
      timeout: "定位超时。请点击地图选择位置，或选择区县。",
      picked: "已选择地图上的位置。", picked_district: "已选择区县：{name}。", loading: "正在查找…",
      found: "找到 {n} 个服务站，按距离排序。", none: "附近没有符合条件的服务站。", error: "出错了：{detail}",
      offline_saved: "离线：显示{age}前保存的结果。", offline_moved: "离线：显示{age}前在约 {distance} 外保存的结果，距离从当时的位置算起。",
      offline_none: "离线：这里附近没有按这些条件保存的结果。联网后再查找。", offline_note: "已保存的结果（{time}），不是实时信息",
      saved_status: "{time} 时{status}", age_now: "不到 1 分钟", age_min: " {n} 分钟", age_hour: " {n} 小时", age_day: " {n} 天",
      open: "开放中", soon: "即将关闭", closed: "已关闭", unknown: "开放时间未知", hours: "开放时间：", verified: "核实日期：",
      address: "地址：", phone: "电话：", walk: "步行约 {n} 分钟", ride: "骑行约 {n} 分钟", metres: "{n} 米",
      km: "{n} 公里", nav_amap: "高德", nav_baidu: "百度", nav_tencent: "腾讯", nav_geo: "其他地图",
      navigate: "导航到 {name}", you: "您的位置", list: "服务站列表", map: "地图", legend: "图例",
      count: "{n} 个服务站", days: ["周一", "周二", "周三", "周四", "周五", "周六", "周日"], to: "至",
      always: "全天 24 小时", holidays_off: "法定节假日休息", holidays: "法定节假日", off: "休息",
      report: "报告问题", report_kind: "问题", report_closed: "已关闭/无法进入", report_moved: "已搬迁",
      report_hours_wrong: "开放时间不对", report_amenity_missing: "缺少设施", report_other: "其他",
      report_message: "补充说明（可选）", report_send: "提交", report_sending: "正在提交…",
      report_thanks: "谢谢！管理员会核实。", report_failed: "提交失败：{detail}",
      fail_busy: "请求太频繁，请约 {n} 分钟后再试。", fail_not_found: "找不到这个服务站，它可能已被移除。请刷新页面。",
      fail_read_only: "系统维护中，暂时不能提交，请稍后再试。", fail_request: "请求未被接受，请刷新页面后再试。",
      fail_server: "服务器出错了，请稍后再试。", fail_network: "连不上服务器，请检查网络后再试。",
      zoom_in: "放大地图", zoom_out: "缩小地图", close: "关闭", leaflet: "Leaflet 网页地图库",
      cluster: "{n} 个服务站，点按放大"
    },
    en: {
      full_map: "View full map", gesture_wheel: "Click the map to zoom with the scroll wheel",
      gesture_touch: "Use two fingers to move the map", asked_view: "Showing the place of the embedded map.",
      title: "Yizhan · stations near you", lang_switch: "中文", skip: "Skip to the station list", filters: "Filters",
      locate: "Locate me", district: "or pick a district", district_none: "or pick a district…", types: "Type",
      amenities: "Amenities", open_now: "Open now", locating: "Finding your position…", located: "Located.",
      start: "Tap “Locate me”, tap the map or pick a district to find stations near you.",
      denied: "Cannot locate you: location permission was refused. Tap the map or pick a district instead.",
      unavailable: "Cannot locate you: this device or browser gives no position. Tap the map or pick a district.",
      timeout: "Locating timed out. Tap the map or pick a district instead.",
      picked: "Using the place you tapped on the map.", picked_district: "Using district {name}.",
      loading: "Searching…", found: "{n} stations, nearest first.", none: "No matching station nearby.",
      error: "Something went wrong: {detail}", open: "Open", soon: "Closes soon", closed: "Closed", unknown: "Hours unknown",
      offline_saved: "Offline: showing results saved {age} ago.",
      offline_moved: "Offline: showing results saved {age} ago about {distance} from here; distances are from that spot.",
      offline_none: "Offline: no results saved near here with these filters. Search again when you are back online.",
      offline_note: "Saved results ({time}), not live", saved_status: "{status} at {time}", age_now: "less than a minute",
      age_min: "{n} min", age_hour: "{n} h", age_day: "{n} days",
      hours: "Hours: ", verified: "Verified: ", address: "Address: ", phone: "Phone: ",
      walk: "about {n} min walk", ride: "about {n} min ride", metres: "{n} m", km: "{n} km",
      nav_amap: "Amap", nav_baidu: "Baidu", nav_tencent: "Tencent", nav_geo: "Other map app",
      navigate: "Navigate to {name}", you: "Your position", list: "Stations", map: "Map", legend: "Legend",
      count: "{n} stations", days: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], to: "–",
      always: "open 24/7", holidays_off: "closed on public holidays", holidays: "public holidays", off: "closed",
      report: "Report a problem", report_kind: "Problem", report_closed: "Closed / cannot get in",
      report_moved: "Has moved", report_hours_wrong: "Wrong hours", report_amenity_missing: "Amenity missing",
      report_other: "Something else", report_message: "Details (optional)", report_send: "Send",
      report_sending: "Sending…", report_thanks: "Thank you! The keepers will check.",
      report_failed: "Could not send: {detail}",
      fail_busy: "Too many requests from this device; please try again in about {n} min.",
      fail_not_found: "This station is no longer listed; please reload the page.",
      fail_read_only: "The service is under maintenance and takes no changes just now; please try again later.",
      fail_request: "The request was refused; please reload the page and try again.",
      fail_server: "The server had a problem; please try again later.",
      fail_network: "Cannot reach the server; check your connection and try again.",
      zoom_in: "Zoom in", zoom_out: "Zoom out", close: "Close", leaflet: "Leaflet, a web map library",
      cluster: "{n} stations, tap to zoom in"
    }
  };
  var PLACE_TEXT = {  // the search box (GET /search): districts, streets and communities, stations by name
    zh: {
      search: "搜索地点、街道或服务站", search_go: "搜索", search_empty: "请输入区县、街道、社区或服务站的名称。",
      search_invalid: "搜索词里有无法搜索的字符，请修改后再试。",
      search_long: "太长了：最多 100 个字。", searching: "正在搜索…", places: "搜索结果", places_found: "找到 {n} 个地点，请选择一个作为出发点：",
      places_none: "没有找到与“{q}”相关的地点。", picked_place: "已选择：{name}。",
      kind_district: "区县", kind_street: "街道/道路", kind_station: "服务站", place_stations: "{n} 个服务站"
    },
    en: {
      search: "Search a place, street or station", search_go: "Search",
      search_empty: "Type the name of a district, street, community or station.",
      search_long: "Too long: 100 characters at most.",
      search_invalid: "The search holds characters that cannot be searched; please change it and try again.",
      searching: "Searching…",
      places: "Search results", places_found: "{n} places found; pick one to start from:",
      places_none: "No place matches “{q}”.", picked_place: "Starting from {name}.", kind_district: "District",
      kind_street: "Street", kind_station: "Station", place_stations: "{n} stations"
    }
  };
  var ORDER_TEXT = {  // the order toggle, when a station opens or closes, travel times of an hour or more
    zh: {
      order: "排序", order_open_first: "开放的优先", order_distance: "按距离", found_open_first: "找到 {n} 个服务站，开放的优先。",
      until_today: "至 {time}", until_tomorrow: "至明天 {time}", until_day: "至{day} {time}", until_date: "至{month}{date}日 {time}",
      opens_today: "{time} 开放", opens_tomorrow: "明天 {time} 开放", opens_day: "{day} {time} 开放",
      opens_date: "{month}{date}日 {time} 开放", drive: "驾车约 {n} 分钟",
      ride_hours: "骑行约 {h} 小时 {m} 分钟", drive_hours: "驾车约 {h} 小时 {m} 分钟",
      months: ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"]
    },
    en: {
      order: "Order", order_open_first: "Open first", order_distance: "By distance",
      found_open_first: "{n} stations, open ones first.", until_today: "until {time}",
      until_tomorrow: "until {time} tomorrow", until_day: "until {day} {time}", until_date: "until {date} {month} {time}",
      opens_today: "opens {time}", opens_tomorrow: "opens tomorrow {time}", opens_day: "opens {day} {time}",
      opens_date: "opens {date} {month} {time}", drive: "about {n} min drive",
      ride_hours: "about {h} h {m} min ride", drive_hours: "about {h} h {m} min drive",
      months: ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    }
  };
  Object.keys(ORDER_TEXT).forEach(function (lang) {
    Object.keys(ORDER_TEXT[lang]).forEach(function (name) { TEXT[lang][name] = ORDER_TEXT[lang][name]; });
  });
  Object.keys(PLACE_TEXT).forEach(function (lang) {
    Object.keys(PLACE_TEXT[lang]).forEach(function (name) { TEXT[lang][name] = PLACE_TEXT[lang][name]; });
  });
  var TRAVEL_TEXT = {  // the way of travel of the navigation links (the API's mode), phone and photo
    zh: {
      travel: "出行方式", travel_auto: "按站点", travel_walk: "步行", travel_ride: "骑行", travel_drive: "驾车",
      route_walk: "步行路线：", route_ride: "骑行路线：", route_drive: "驾车路线：", call: "拨打 {phone}",
      photo_of: "{name}的照片", amenities_of: "{name}的设施"
    },
    en: {
      travel: "Travel by", travel_auto: "Per station", travel_walk: "Walking", travel_ride: "Riding",
      travel_drive: "Driving", route_walk: "Walking route: ", route_ride: "Riding route: ",
      route_drive: "Driving route: ", call: "Call {phone}", photo_of: "Photo of {name}", amenities_of: "Amenities of {name}"
    }
  };
  Object.keys(TRAVEL_TEXT).forEach(function (lang) {
    Object.keys(TRAVEL_TEXT[lang]).forEach(function (name) { TEXT[lang][name] = TRAVEL_TEXT[lang][name]; });
  });
  var TRAVEL_MODES = ["walk", "ride", "drive"];
  var TRAVEL_KEY = "yizhan.travel";  // the rider's chosen way of travel, kept in localStorage
  function storedTravel() {
    try {
      var value = window.localStorage.getItem(TRAVEL_KEY);
      return TRAVEL_MODES.indexOf(value) >= 0 ? value : "";
    } catch (error) { return ""; }  // storage refused (private mode, sandboxed frame): per station
  }
  var DAY_CODES = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"];
  var labels = config.labels || {};
  Object.keys(TEXT).forEach(function (lang) {
    var own = labels[lang] || {};
    Object.keys(own).forEach(function (name) { TEXT[lang][name] = own[name]; });
  });

  var params = new URLSearchParams(window.location.search);
  var mode = config.mode || "rider";
  var crs = config.tiles_crs === "gcj02" ? "gcj02" : "wgs84";
  var api = config.api || "";
  var state = {
    lang: pickLang(params.get("lang") || config.lang),
    types: new Set(config.types || askedTypes()),
    amenities: new Set(),
    openNow: false,
    order: params.get("order") === "distance" ? "distance" : "open_first",  // open stations first unless asked
    travel: storedTravel(),  // "" (each station's own: drive to driver homes, else ride), walk, ride or drive
    now: params.get("now") || config.now || null,
    position: null,
    positionCrs: crs,
    features: [],
    markers: {},
    selected: null,
    status: null
  };
  var stationLayer = null;
  var youMarker = null;
  var legend = null;

  function pickLang(value) { return value === "en" ? "en" : "zh"; }
  function t(key, values) {
    var text = TEXT[state.lang][key];
    if (text === undefined) { text = TEXT.zh[key] !== undefined ? TEXT.zh[key] : key; }
    if (values) {
      Object.keys(values).forEach(function (name) { text = text.split("{" + name + "}").join(String(values[name])); });
    }
    return text;
  }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function byId(id) { return document.getElementById(id); }
  function safeLink(url, tel) {
    var allowed = tel ? /^tel:\+?[0-9][0-9-]*$/ : /^(https:\/\/|geo:)/;  // tel: only where a phone number is linked
    return typeof url === "string" && allowed.test(url) ? url : null;
  }

  /* Opening hours (OpenStreetMap syntax) in words, e.g. "Mo-Fr 08:30-17:00; PH off" → 周一至周五 08:30-17:00；法定节假日休息 */
  function hoursInWords(text) {
    if (!text) { return t("unknown"); }
    if (text.trim() === "24/7") { return t("always"); }
    var days = t("days");
    var day = function (code) { return days[DAY_CODES.indexOf(code)]; };
    return text
      .replace(/\b(Mo|Tu|We|Th|Fr|Sa|Su)-(Mo|Tu|We|Th|Fr|Sa|Su)\b/g, function (_, a, b) { return day(a) + t("to") + day(b); })
      .replace(/\b(Mo|Tu|We|Th|Fr|Sa|Su)\b/g, function (_, a) { return day(a); })
      .replace(/\bPH off\b/g, t("holidays_off"))
      .replace(/\bPH\b/g, t("holidays"))
      .replace(/\boff\b/g, t("off"))
      .replace(/\s*;\s*/g, state.lang === "zh" ? "；" : "; ");
  }
  function distanceText(metres) {
    return metres < 1000 ? t("metres", {n: Math.round(metres)}) : t("km", {n: (metres / 1000).toFixed(1)});
  }
  function typesText(types) { return (types || []).map(function (kind) { return t(kind); }).join(" · "); }
  function mainType(props) { var types = props.types || []; return TYPES.indexOf(types[0]) >= 0 ? types[0] : "other"; }

  var CLOSES_SOON_MS = 30 * 60 * 1000;
  var CHINA_MS = 8 * 3600 * 1000;  // China Standard Time, UTC+8 all year
  function nowMs() { return state.now ? Date.parse(state.now.length <= 16 ? state.now + ":00+08:00" : state.now) : Date.now(); }
  /* When an open station closes or a closed one opens (the API's closes_at / opens_at), in the rider's words
   * and China time: "至 20:00", "明天 08:00 开放", "周一 09:00 开放"; a week or more ahead, the date. */
  function whenText(props) {
    var kind = props.open_status === "open" ? "until" : props.open_status === "closed" ? "opens" : null;
    var at = Date.parse(kind === "until" ? props.closes_at : kind === "opens" ? props.opens_at : "");
    var now = nowMs();
    if (!kind || !(at > now)) { return ""; }
    var local = new Date(at + CHINA_MS), today = new Date(now + CHINA_MS);
    var days = Math.round((Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate()) -
      Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate())) / 86400000);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return t(kind + (days <= 0 ? "_today" : days === 1 ? "_tomorrow" : days < 7 ? "_day" : "_date"), {
      time: pad(local.getUTCHours()) + ":" + pad(local.getUTCMinutes()), day: t("days")[(local.getUTCDay() + 6) % 7],
      month: t("months")[local.getUTCMonth()], date: local.getUTCDate()
    });
  }
  /* Walking and riding minutes within WALK_MAX_M; farther, riding only (driving to a driver home). */
  function travelText(metres, types) {
    function about(key, perMinute) {
      var n = Math.max(1, Math.ceil(metres / perMinute));
      return n < 60 ? t(key, {n: n}) : t(key + "_hours", {h: Math.floor(n / 60), m: n % 60});
    }
    if (metres <= WALK_MAX_M) { return [about("walk", WALK_M_PER_MIN), about("ride", RIDE_M_PER_MIN)]; }
    return [(types || []).indexOf("driver_home") >= 0 ? about("drive", DRIVE_M_PER_MIN) : about("ride", RIDE_M_PER_MIN)];
  }
  function foundText() {
    return state.features.length ? t(state.order === "open_first" ? "found_open_first" : "found", {n: state.features.length}) : t("none");
  }
  function statusBadge(status, closesAt) {
    if (state.offline) { return savedBadge(status); }
    var known = status === "open" || status === "closed" ? status : "unknown";
    if (known === "open" && closesAt) {
      var now = state.now ? Date.parse(state.now.length <= 16 ? state.now + ":00+08:00" : state.now) : Date.now();
      var left = Date.parse(closesAt) - now;
      if (left >= 0 && left <= CLOSES_SOON_MS) { known = "soon"; }
    }
    return el("span", "yz-badge yz-badge-" + known, t(known));
  }
  function navLinks(props) {
    var nav = el("div", "yz-nav");
    nav.setAttribute("role", "group");
    nav.setAttribute("aria-label", t("navigate", {name: props.name}));
    if (TRAVEL_MODES.indexOf(props.travel_mode) >= 0) { nav.appendChild(el("span", "yz-nav-mode", t("route_" + props.travel_mode))); }
    NAV.forEach(function (app) {
      var url = safeLink((props.navigation || {})[app]);
      if (!url) { return; }
      var link = el("a", "yz-nav-link yz-nav-" + app, t("nav_" + app));
      link.href = url;
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      link.setAttribute("aria-label", t("nav_" + app) + " — " + t("navigate", {name: props.name}));
      nav.appendChild(link);
    });
    return nav;
  }
  function detailLines(props, node) {
    var hours = el("p", "yz-meta");
    if (props.open_status) {
      hours.appendChild(statusBadge(props.open_status, props.closes_at));
      var when = state.offline ? "" : whenText(props);
      if (when) { hours.appendChild(document.createTextNode(" ")); hours.appendChild(el("span", "yz-when", when)); }
      hours.appendChild(document.createTextNode(" "));
    }
    hours.appendChild(document.createTextNode(t("hours") + hoursInWords(props.opening_hours)));
    node.appendChild(hours);
    if (props.address) { node.appendChild(el("p", "yz-meta", t("address") + props.address)); }
    if (props.phone) { node.appendChild(phoneLine(String(props.phone))); }
    var amenities = AMENITIES.filter(function (name) { return (props.amenities || {})[name] === "yes"; });
    if (amenities.length) {
      var chips = el("ul", "yz-meta yz-amenities");
      chips.setAttribute("aria-label", t("amenities_of", {name: props.name}));
      amenities.forEach(function (name) { chips.appendChild(el("li", "yz-amenity yz-amenity-" + name, t(name))); });
      node.appendChild(chips);
    }
    var photo = typeof props.photo_url === "string" && /^https:\/\//.test(props.photo_url) ? props.photo_url : null;
    if (photo) {
      var img = el("img", "yz-photo");
      img.alt = t("photo_of", {name: props.name});
      img.loading = "lazy";
      img.decoding = "async";
      img.referrerPolicy = "no-referrer";
      img.addEventListener("error", function () { img.remove(); });  // gone, or a host the CSP does not allow
      img.src = photo;
      node.appendChild(img);
    }
    if (props.verified_at) { node.appendChild(el("p", "yz-meta yz-verified", t("verified") + props.verified_at)); }
  }
  /* "电话：" and each number of the phone text (split at , ; / 、) as a tel: link when it is only digits, +, - and
   * spaces; anything else stays plain text. */
  function phoneLine(phone) {
    var line = el("p", "yz-meta yz-phone", t("phone"));
    phone.split(/\s*[,;/、，；]\s*/).forEach(function (part, i) {
      if (i) { line.appendChild(document.createTextNode(" / ")); }
      var href = /^\+?[0-9][0-9 -]*[0-9]$/.test(part) ? safeLink("tel:" + part.replace(/ /g, ""), true) : null;
      if (!href) { line.appendChild(document.createTextNode(part)); return; }
      var link = el("a", "yz-tel", part);
      link.href = href;
      link.setAttribute("aria-label", t("call", {phone: part}));
      line.appendChild(link);
    });
    return line;
  }
  function popupCard(feature) {
    var props = feature.properties;
    var card = el("div", "yz-card");
    card.appendChild(el("strong", "yz-card-name", props.name));
    card.appendChild(el("p", "yz-meta", typesText(props.types)));
    detailLines(props, card);
    card.appendChild(navLinks(props));
    return card;
  }

  /* A marker: a 44 px tap box (transparent) around a coloured dot, drawn `offset` px ([dx, dy]) away from its
   * place when spreadMarkers moved it clear of a nearer station's marker. */
  function pinIcon(kind, label, selected, offset) {
    var shift = offset || [0, 0];
    return L.divIcon({
      className: "yz-pin" + (label ? " yz-pin-numbered" : "") + (selected ? " yz-selected" : ""),
      html: el("span", "yz-dot yz-pin-" + kind, label ? String(label) : null),
      iconSize: [PIN_BOX, PIN_BOX],
      iconAnchor: [PIN_BOX / 2 - shift[0], PIN_BOX / 2 - shift[1]]
    });
  }
  function clusterIcon(cluster) {
    var n = cluster.getChildCount();
    var box = el("span"), count = el("span", "yz-cluster-count", n);
    count.setAttribute("aria-hidden", "true");
    box.appendChild(count);
    box.appendChild(el("span", "yz-visually-hidden", t("cluster", {n: n})));  // the button's name
    return L.divIcon({html: box, className: "yz-cluster", iconSize: [PIN_BOX, PIN_BOX]});
  }
  var leaders = L.layerGroup();
  /* Markers whose tap boxes would overlap at this zoom are drawn apart (the nearest station keeps its place),
   * each moved one with a thin line to its true place. Clustered layers are left to the cluster plugin. */
  function spreadMarkers() {
    leaders.clearLayers();
    if (!stationLayer || !stationLayer.spread || !map.hasLayer(stationLayer)) { return; }
    var markers = stationLayer.getLayers();
    var points = markers.map(function (marker) {
      var at = map.latLngToLayerPoint(marker.getLatLng());
      return [at.x, at.y];
    });
    spreadPins(points, PIN_BOX).forEach(function (offset, i) {
      var marker = markers[i], old = marker.offset || [0, 0];
      if (old[0] !== offset[0] || old[1] !== offset[1]) {
        marker.offset = offset;
        marker.setIcon(pinIcon(marker.kind, marker.label, marker.feature.properties.id === state.selected, offset));
      }
      if (offset[0] || offset[1]) {
        var moved = map.layerPointToLatLng(L.point(points[i][0] + offset[0], points[i][1] + offset[1]));
        leaders.addLayer(L.polyline([marker.getLatLng(), moved], {color: "#333333", weight: 2, interactive: false}));
        leaders.addLayer(L.circleMarker(marker.getLatLng(), {radius: 3, weight: 1, color: "#ffffff",
          fillColor: "#333333", fillOpacity: 1, interactive: false}));
      }
    });
  }
  function drawStations(features, numbered) {
    if (stationLayer) { map.removeLayer(stationLayer); }
    var cluster = !numbered && features.length > CLUSTER_ABOVE && L.markerClusterGroup;
    stationLayer = cluster ? L.markerClusterGroup({disableClusteringAtZoom: 16, chunkedLoading: true, iconCreateFunction: clusterIcon})
      : L.featureGroup();
    stationLayer.spread = !cluster;
    state.markers = {};
    features.forEach(function (feature, i) {
      var props = feature.properties, xy = feature.geometry.coordinates;
      var marker = L.marker([xy[1], xy[0]], {
        icon: pinIcon(mainType(props), numbered ? i + 1 : null, false),
        title: (numbered ? (i + 1) + ". " : "") + props.name,
        alt: props.name,
        keyboard: true,
        riseOnHover: true
      });
      marker.feature = feature;
      marker.kind = mainType(props);
      marker.label = numbered ? i + 1 : null;
      if (numbered) {
        marker.on("click", function () { select(props.id, true); });
        marker.on("keydown", function (event) {
          var key = event.originalEvent.key;
          if (key === "Enter" || key === " ") { event.originalEvent.preventDefault(); select(props.id, true); }
        });
      } else {
        marker.bindPopup(function () { return popupCard(feature); }, {maxWidth: 300});
      }
      state.markers[props.id] = marker;
      stationLayer.addLayer(marker);
    });
    stationLayer.addTo(map);
    spreadMarkers();
  }

  function select(id, fromMap) {
    var previous = state.selected;
    state.selected = id;
    [previous, id].forEach(function (key) {
      var marker = key && state.markers[key];
      if (!marker) { return; }
      var i = state.features.indexOf(marker.feature);
      marker.setIcon(pinIcon(mainType(marker.feature.properties), i + 1, key === id, marker.offset));
      marker.setZIndexOffset(key === id ? 1000 : 0);
    });
    var items = byId("yz-list").querySelectorAll(".yz-item");
    Array.prototype.forEach.call(items, function (item) {
      var on = item.dataset.id === id;
      item.classList.toggle("yz-item-selected", on);
      item.querySelector(".yz-pick").setAttribute("aria-pressed", on ? "true" : "false");
      if (on && fromMap) {
        item.scrollIntoView({block: "nearest"});
        item.querySelector(".yz-pick").focus({preventScroll: true});
      }
    });
    var chosen = state.markers[id];
    if (chosen && !fromMap) { map.panTo(chosen.getLatLng()); }
  }

  function renderList() {
    var list = byId("yz-list");
    showSaved();
    list.textContent = "";
    state.features.forEach(function (feature, i) {
      var props = feature.properties;
      var item = el("li", "yz-item");
      item.dataset.id = props.id;
      var pick = el("button", "yz-pick");
      pick.type = "button";
      pick.setAttribute("aria-pressed", "false");
      pick.appendChild(el("span", "yz-num yz-pin-" + mainType(props), i + 1));
      pick.appendChild(el("span", "yz-name", props.name));
      var metres = props.distance_m;
      pick.appendChild(el("span", "yz-distance", [distanceText(metres)].concat(travelText(metres, props.types)).join(" · ")));
      pick.appendChild(el("span", "yz-types", typesText(props.types)));
      pick.addEventListener("click", function () { select(props.id, false); });
      item.appendChild(pick);
      detailLines(props, item);
      item.appendChild(navLinks(props));
      if (mode === "rider") { item.appendChild(reportForm(props)); }
      list.appendChild(item);
    });
    if (state.selected) { select(state.selected, false); }
  }

  /* What went wrong, in the page's own words: the API's machine code ("error": rate_limited...) or else the HTTP
   * status picks the message; the API's "detail" (English, for developers) is never shown to a rider. */
  var REFUSALS = {rate_limited: "fail_busy", not_found: "fail_not_found", read_only: "fail_read_only"};
  function refusal(response, body) {
    var code = body && typeof body.error === "string" ? body.error : "";
    var error = new Error(code || "HTTP " + response.status);
    error.key = REFUSALS[code] || (response.status === 429 ? "fail_busy" : response.status >= 500 ? "fail_server" : "fail_request");
    var wait = parseInt(response.headers.get("Retry-After"), 10);
    error.values = {n: wait > 0 ? Math.ceil(wait / 60) : 60};
    return error;
  }
  function failureKey(error) {
    return error && error.key ? error.key : error instanceof TypeError ? "fail_network" : "fail_server";  // fetch: TypeError
  }

  var REPORT_KINDS = ["closed", "moved", "hours_wrong", "amenity_missing", "other"];

  // A rider tells the keepers what is wrong with a station: POST /stations/{id}/reports (no account needed).
  function reportForm(props) {
    var box = el("details", "yz-report");
    box.appendChild(el("summary", null, t("report")));
    var kindId = "yz-report-kind-" + props.id, messageId = "yz-report-message-" + props.id;
    var kindLabel = el("label", null, t("report_kind"));
    kindLabel.htmlFor = kindId;
    var kind = el("select");
    kind.id = kindId;
    REPORT_KINDS.forEach(function (name) {
      var option = el("option", null, t("report_" + name));
      option.value = name;
      kind.appendChild(option);
    });
    var messageLabel = el("label", null, t("report_message"));
    messageLabel.htmlFor = messageId;
    var message = el("textarea");
    message.id = messageId;
    message.maxLength = 2000;
    message.rows = 2;
    var send = el("button", "yz-button", t("report_send"));
    send.type = "button";
    var result = el("p", "yz-report-result");
    result.setAttribute("role", "status");
    send.addEventListener("click", function () {
      send.disabled = true;
      result.textContent = t("report_sending");
      var body = {kind: kind.value};
      if (message.value.trim()) { body.message = message.value.trim(); }
      if (kind.value === "moved" && state.position) { body.lon = state.position[0]; body.lat = state.position[1]; }
      fetch(api + "/stations/" + encodeURIComponent(props.id) + "/reports?crs=" + state.positionCrs, {
        method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)
      }).then(function (response) {
        return response.json().then(function (answer) {
          if (!response.ok) { throw refusal(response, answer); }
          result.textContent = t("report_thanks");
          message.value = "";
        });
      }).catch(function (error) {
        result.textContent = t("report_failed", {detail: t(failureKey(error), error.values)});
      }).finally(function () { send.disabled = false; });
    });
    [kindLabel, kind, messageLabel, message, send, result].forEach(function (node) { box.appendChild(node); });
    return box;
  }

  function setStatus(key, values) {
    state.status = key ? [key, values] : null;
    var line = byId("yz-status");
    if (!line) { return; }
    line.textContent = key ? t(key, values) : "";
    line.classList.toggle("yz-warning", ["denied", "unavailable", "timeout", "error", "offline_none"].indexOf(key) >= 0 ||
      /^fail_/.test(key || ""));
  }

  /* Offline (maps/static/sw.js): without a network the worker answers with the answer saved nearest this position,
   * marked X-Yizhan-Offline (the time it was saved), or a 503 marked "none". A saved answer is shown with its age
   * and its open/closed as of the time it was saved, never as live; with none, the list is emptied. */
  var OFFLINE_SAME_M = 50;
  function registerOffline() {
    if (!config.service_worker || !("serviceWorker" in navigator) || !window.isSecureContext) { return; }
    navigator.serviceWorker.addEventListener("controllerchange", function () {
      // the first answer came before the worker took the page over: ask again (not shown) so it is saved
      if (state.position && !state.offline) { fetch(nearbyUrl(), {headers: {Accept: "application/geo+json"}}).catch(function () {}); }
    });
    navigator.serviceWorker.register(config.service_worker).catch(function () { /* the page works without it */ });
    setInterval(function () {  // the age said in the status line grows while a saved answer is shown
      if (!state.offline || state.status) { return; }
      var last = state.lastStatus || [];
      byId("yz-status").textContent = (last[0] ? t(last[0], last[1]) + " " : "") + offlineText() +
        foundText();
    }, 30000);
  }
  function savedFrom(response) {
    var saved = response.headers.get("X-Yizhan-Offline");
    if (!saved) { return null; }
    return {savedAt: Date.parse(saved), distance_m: Number(response.headers.get("X-Yizhan-Offline-Distance-M")) || 0};
  }
  function offlineError() { var error = new Error(t("offline_none")); error.offline = true; return error; }
  function ageText(ms) {
    var minutes = Math.floor(Math.max(0, Date.now() - ms) / 60000);
    if (minutes < 1) { return t("age_now"); }
    if (minutes < 120) { return t("age_min", {n: minutes}); }
    return minutes < 48 * 60 ? t("age_hour", {n: Math.floor(minutes / 60)}) : t("age_day", {n: Math.floor(minutes / 1440)});
  }
  function clockText(ms) {
    var when = new Date(ms), today = new Date();
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    var time = two(when.getHours()) + ":" + two(when.getMinutes());
    return when.toDateString() === today.toDateString() ? time : two(when.getMonth() + 1) + "-" + two(when.getDate()) + " " + time;
  }
  function asOfText() { return state.now ? state.now.replace("T", " ") : clockText(state.offline.savedAt); }
  function offlineText() {
    if (!state.offline) { return ""; }
    var age = ageText(state.offline.savedAt);
    return (state.offline.distance_m > OFFLINE_SAME_M
      ? t("offline_moved", {age: age, distance: distanceText(state.offline.distance_m)})
      : t("offline_saved", {age: age})) + " ";
  }
  function savedBadge(status) {
    var known = status === "open" || status === "closed" ? status : "unknown";
    var text = known === "unknown" ? t(known) : t("saved_status", {status: t(known), time: asOfText()});
    return el("span", "yz-badge yz-badge-saved", text);
  }
  function showSaved() {
    var list = byId("yz-list"), note = byId("yz-offline");
    list.classList.toggle("yz-list-saved", !!state.offline);
    if (note) {
      note.hidden = !state.offline;
      note.textContent = state.offline ? t("offline_note", {time: asOfText()}) : "";
    }
  }
  function showNoSaved() {
    state.offline = null;
    state.features = [];
    state.selected = null;
    drawStations([], true);
    renderList();
    setStatus("offline_none");
  }

  function nearbyUrl() {
    var query = new URLSearchParams();
    query.set("lon", state.position[0].toFixed(7));
    query.set("lat", state.position[1].toFixed(7));
    query.set("k", String(NEARBY_K));
    query.set("crs", crs);
    if (state.positionCrs !== crs) { query.set("position_crs", state.positionCrs); }
    if (state.types.size) { query.set("types", Array.from(state.types).join(",")); }
    if (state.amenities.size) { query.set("amenities", Array.from(state.amenities).join(",")); }
    if (state.openNow) { query.set("open_at", state.now || "now"); }
    query.set("order", state.order);
    if (state.travel) { query.set("mode", state.travel); }
    if (state.now) { query.set("at", state.now); }
    return api + "/stations/nearby?" + query.toString();
  }

  var requestNumber = 0;
  function search(statusKey, statusValues) {
    if (!state.position) { return; }
    var number = ++requestNumber;
    byId("yz-list").setAttribute("aria-busy", "true");
    fetch(nearbyUrl(), {headers: {Accept: "application/geo+json"}})
      .then(function (response) {
        if (response.headers.get("X-Yizhan-Offline") === "none") { throw offlineError(); }
        return response.json().then(function (body) {
          if (!response.ok) { throw refusal(response, body); }
          body.offline = savedFrom(response);
          return body;
        });
      })
      .then(function (body) {
        if (number !== requestNumber) { return; }
        state.offline = body.offline;
        if (body.query && !body.offline) { placeRider(body.query.coordinates[0], body.query.coordinates[1], crs); }
        state.features = body.features;
        state.selected = null;
        drawStations(state.features, true);
        renderList();
        var found = foundText();
        var prefix = statusKey ? t(statusKey, statusValues) + " " : "";
        state.status = null;
        byId("yz-status").textContent = prefix + offlineText() + found;
        byId("yz-status").classList.toggle("yz-warning", !!state.offline);
        state.lastStatus = [statusKey, statusValues];
        var bounds = stationLayer.getBounds();
        if (youMarker) { bounds.extend(youMarker.getLatLng()); }
        if (bounds.isValid() && !state.holdView) { map.fitBounds(bounds, {padding: [24, 24], maxZoom: 16}); }
        state.holdView = false;  // an asked view (showAskedView) stays for its first answer only
      })
      .catch(function (error) {
        if (number !== requestNumber) { return; }
        if (error.offline || navigator.onLine === false) { showNoSaved(); } else { setStatus(failureKey(error), error.values); }
      })
      .finally(function () { byId("yz-list").removeAttribute("aria-busy"); });
  }

  /* The rider's position, (lon, lat) in positionCrs; drawn on the map once it is in the tiles' system. */
  function placeRider(lon, lat, positionCrs) {
    state.position = [lon, lat];
    state.positionCrs = positionCrs;
    if (youMarker) { map.removeLayer(youMarker); youMarker = null; }
    if (positionCrs !== crs) { return; }  // drawn from the answer's "query" point, in the tiles' system
    youMarker = L.circleMarker([lat, lon], {radius: 8, color: "#ffffff", weight: 3, fillColor: "#1a73e8", fillOpacity: 1})
      .bindTooltip(t("you"))
      .addTo(map);
    youMarker.position = [lon, lat];
  }

  function setPosition(lon, lat, positionCrs, statusKey, statusValues) {
    placeRider(lon, lat, positionCrs);
    setStatus("loading");
    search(statusKey, statusValues);
  }

  function locate() {
    if (!navigator.geolocation) { setStatus("unavailable"); return; }
    setStatus("locating");
    navigator.geolocation.getCurrentPosition(
      function (where) { setPosition(where.coords.longitude, where.coords.latitude, "wgs84", "located"); },
      function (failure) {
        setStatus(failure.code === 1 ? "denied" : failure.code === 3 ? "timeout" : "unavailable");
        byId("yz-district").focus();
      },
      {enableHighAccuracy: true, timeout: 10000, maximumAge: 60000}
    );
  }

  function loadDistricts() {
    // names, adcodes and bboxes only (?geometry=false): a few KB, where the boundaries are hundreds
    fetch(api + "/districts?geometry=false").then(function (response) { return response.json(); }).then(function (body) {
      var select = byId("yz-district");
      (body.features || []).forEach(function (feature) {
        var option = el("option", null, feature.properties.name);
        option.value = feature.properties.adcode;
        // where its stations are (the server's "point", inside the district), not the middle of its bbox
        option.dataset.center = JSON.stringify(feature.properties.point || centre(feature));
        select.appendChild(option);
      });
    }).catch(function () { /* the map and the locate button still work */ });
  }
  function centre(feature) {
    var box = feature.bbox, geometry = feature.geometry;
    if (box) { return [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]; }
    var west = Infinity, south = Infinity, east = -Infinity, north = -Infinity;
    (function walk(value) {
      if (typeof value[0] === "number") {
        west = Math.min(west, value[0]); east = Math.max(east, value[0]);
        south = Math.min(south, value[1]); north = Math.max(north, value[1]);
      } else { value.forEach(walk); }
    })(geometry.coordinates);
    return [(west + east) / 2, (south + north) / 2];
  }

  /* The search box: places by name from GET /search (points in the tiles' system); picking one sets the
   * rider's origin. Every name and detail goes in as text (el). */
  var placeNumber = 0;
  function searchPlaces(text) {
    var list = byId("yz-places");
    list.replaceChildren();
    list.hidden = true;
    if (!text.trim()) { setStatus("search_empty"); byId("yz-search").focus(); return; }
    if (text.trim().length > 100) { setStatus("search_long"); byId("yz-search").focus(); return; }  // as the API
    var number = ++placeNumber;
    setStatus("searching");
    var query = new URLSearchParams({q: text, limit: "10", crs: crs});
    fetch(api + "/search?" + query.toString())
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) {  // said in the page's words (the API's reason is English)
            var refused = refusal(response, body);
            if (response.status === 422) { refused.key = "search_invalid"; }  // e.g. control characters
            throw refused;
          }
          return body;
        });
      })
      .then(function (body) {
        if (number !== placeNumber) { return; }
        if (!body.places.length) { setStatus("places_none", {q: text.trim()}); return; }
        body.places.forEach(function (place) {
          var item = el("li", "yz-place");
          var pick = el("button", "yz-place-pick");
          pick.type = "button";
          pick.appendChild(el("span", "yz-place-name", place.name));
          var about = [t("kind_" + place.kind)];
          if (place.detail) { about.push(place.detail); }
          if (place.kind !== "station") { about.push(t("place_stations", {n: place.stations})); }
          pick.appendChild(el("span", "yz-meta yz-place-detail", about.join(" · ")));
          pick.addEventListener("click", function () {
            list.hidden = true;
            setPosition(place.coordinates[0], place.coordinates[1], crs, "picked_place", {name: place.name});
          });
          item.appendChild(pick);
          list.appendChild(item);
        });
        list.hidden = false;
        setStatus("places_found", {n: body.places.length});
      })
      .catch(function (error) {
        if (number === placeNumber) { setStatus(failureKey(error), error.values); }
      });
  }

  function chip(group, name, selected) {
    var button = el("button", "yz-chip", t(name));
    button.type = "button";
    button.dataset.value = name;
    button.setAttribute("aria-pressed", selected.has(name) ? "true" : "false");
    button.addEventListener("click", function () {
      if (selected.has(name)) { selected.delete(name); } else { selected.add(name); }
      button.setAttribute("aria-pressed", selected.has(name) ? "true" : "false");
      search(state.lastStatus && state.lastStatus[0], state.lastStatus && state.lastStatus[1]);
    });
    group.appendChild(button);
  }

  function applyLanguage() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (node) {
      node.textContent = t(node.dataset.i18n);
    });
    var switcher = byId("yz-lang");
    if (switcher) { switcher.lang = state.lang === "zh" ? "en" : "zh-CN"; }
    Array.prototype.forEach.call(document.querySelectorAll(".yz-chip"), function (button) {
      button.textContent = t(button.dataset.value);
    });
    if (youMarker) { youMarker.setTooltipContent(t("you")); }
    if (mode === "rider") {
      renderList();
      if (state.status) { setStatus(state.status[0], state.status[1]); }
      else if (state.position) {
        var last = state.lastStatus || [];
        byId("yz-status").textContent = (last[0] ? t(last[0], last[1]) + " " : "") + offlineText() + foundText();
      }
    }
    if (legend) { legend.remove(); legend.addTo(map); }
    localizeMap();
  }

  /* Leaflet's own words (zoom buttons, a popup's close button, its credit) in the page's language. */
  function localizeMap() {
    var root = map.getContainer();
    [["zoom-in", "zoom_in"], ["zoom-out", "zoom_out"], ["popup-close-button", "close"]].forEach(function (pair) {
      var button = root.querySelector(".leaflet-" + (pair[0] === "popup-close-button" ? "" : "control-") + pair[0]);
      if (button) { button.title = t(pair[1]); button.setAttribute("aria-label", t(pair[1])); }
    });
    var credit = root.querySelector(".leaflet-control-attribution a[href=\"https://leafletjs.com\"]");
    if (credit) { credit.title = t("leaflet"); }
  }

  function legendControl(features) {
    var control = L.control({position: "bottomright"});
    control.onAdd = function () {
      var box = el("div", "yz-legend");
      box.setAttribute("role", "note");
      if (config.title) { box.appendChild(el("strong", "yz-legend-title", config.title)); }
      box.appendChild(el("div", "yz-legend-count", t("count", {n: features.length})));
      TYPES.forEach(function (kind) {
        var n = features.filter(function (f) { return (f.properties.types || []).indexOf(kind) >= 0; }).length;
        if (!n) { return; }
        var row = el("div", "yz-legend-row");
        row.appendChild(el("span", "yz-swatch yz-pin-" + kind));
        row.appendChild(document.createTextNode(t(kind) + " (" + n + ")"));
        box.appendChild(row);
      });
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    return control;
  }

  /* The embed (mode "embed") on a union's page: gestures that leave the page scrollable, a "view full map" link
   * and open/closed badges. */

  /* Gestures: a page that frames the map must still scroll past it. The wheel zooms only once the map has focus
   * (a click, or Tab) and stops when it loses it or the mouse leaves; on a touch screen one finger scrolls the
   * page (dragging is off for touch, so Leaflet's touch-action lets the browser scroll) while two fingers move
   * and zoom the map (Leaflet's touchZoom follows their centre). A hint says so when a gesture did not move it.
   * No plugin: these few listeners are all leaflet-gesture-handling does that an embed needs. */
  function gestureHandling() {
    var box = map.getContainer();
    var hint = el("div", "yz-gesture-hint");
    hint.setAttribute("aria-hidden", "true");  // about a mouse wheel and fingers; the keyboard works as it is
    box.appendChild(hint);
    var timer = null;
    function hide() {
      window.clearTimeout(timer);
      hint.classList.remove("yz-gesture-hint-on");
      hint.textContent = "";
    }
    function show(key) {
      window.clearTimeout(timer);
      hint.textContent = t(key);
      hint.classList.add("yz-gesture-hint-on");
      timer = window.setTimeout(hide, 1500);
    }
    function onControl(event) { return event.target.closest && event.target.closest(".leaflet-control, .leaflet-popup"); }
    map.scrollWheelZoom.disable();
    map.dragging.disable();
    box.addEventListener("focus", function () { map.scrollWheelZoom.enable(); hide(); });
    box.addEventListener("blur", function () { map.scrollWheelZoom.disable(); });
    box.addEventListener("mouseleave", function () {
      map.scrollWheelZoom.disable();
      if (!map.dragging.moving()) { map.dragging.disable(); }
    });
    box.addEventListener("pointerdown", function (event) {  // capturing: before Leaflet's mousedown/touchstart
      // focused here without scrolling: Leaflet's own focus() on mousedown would scroll the union's page to the map
      if (document.activeElement !== box && !onControl(event)) { box.focus({preventScroll: true}); }
      if (event.pointerType === "touch") { map.dragging.disable(); return; }
      map.dragging.enable();
      map.scrollWheelZoom.enable();
      hide();
    }, true);
    box.addEventListener("wheel", function (event) {
      if (!map.scrollWheelZoom.enabled() && !onControl(event)) { show("gesture_wheel"); }
    }, {passive: true});
    box.addEventListener("touchmove", function (event) {
      if (onControl(event)) { return; }
      if (event.touches.length === 1) { show("gesture_touch"); } else { hide(); }
    }, {passive: true});
  }

  /* "View full map": the rider page of this server, in a new tab, at the embed's view, types and language. */
  function fullMapUrl() {
    var centre = map.getCenter().wrap();
    var query = new URLSearchParams();
    query.set("lat", centre.lat.toFixed(5));
    query.set("lon", centre.lng.toFixed(5));
    query.set("zoom", String(map.getZoom()));
    if (crs !== "wgs84") { query.set("crs", crs); }
    if (state.types.size) { query.set("types", Array.from(state.types).join(",")); }
    if (state.lang === "en") { query.set("lang", "en"); }
    return new URL("./?" + query.toString(), window.location.href).href;
  }
  function fullMapControl() {
    var control = L.control({position: "topright"});
    control.onAdd = function () {
      var box = el("div", "yz-full-map");
      var link = el("a", "yz-full-map-link", t("full_map"));
      link.target = "_blank";
      link.rel = "noopener";
      link.href = fullMapUrl();
      map.on("moveend", function () { link.href = fullMapUrl(); });
      box.appendChild(link);
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    return control;
  }

  /* Open/closed badges: the page holds no time (it may be cached all day), so the embed asks this server for
   * its stations' status now (GET /embed/status, which may be kept a minute) when it loads, and again when a
   * popup opens later than that; an open popup is redrawn with the answer. No answer: no badge, hours still shown. */
  var STATUS_MAX_AGE_MS = 60 * 1000;
  var statusAsked = null;
  var openPopup = null;
  function refreshStatus(features) {
    statusAsked = Date.now();
    var query = new URLSearchParams();
    if (config.adcode) { query.set("adcode", config.adcode); }
    if ((config.types || []).length) { query.set("types", config.types.join(",")); }
    if (state.now) { query.set("at", state.now); }
    fetch(api + "/embed/status?" + query.toString()).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (body) {
      var stations = body.stations || {};
      features.forEach(function (feature) {
        var props = feature.properties;
        var known = Object.prototype.hasOwnProperty.call(stations, props.id) ? stations[props.id] : null;
        props.open_status = known ? known.open_status : null;
        props.closes_at = known ? known.closes_at : null;
        props.opens_at = known ? known.opens_at : null;
      });
      if (openPopup) { openPopup.update(); }
    }).catch(function () { statusAsked = null; });
  }
  function startEmbed(features) {
    gestureHandling();
    var fullMap = fullMapControl().addTo(map);
    map.on("popupopen", function (event) {  // the link steps aside: in a small frame it would cover the popup's close button
      openPopup = event.popup;
      fullMap.getContainer().classList.add("yz-full-map-hidden");
      if (statusAsked === null || Date.now() - statusAsked > STATUS_MAX_AGE_MS) { refreshStatus(features); }
    });
    map.on("popupclose", function () {
      openPopup = null;
      fullMap.getContainer().classList.remove("yz-full-map-hidden");
    });
    refreshStatus(features);
  }

  /* A view asked in the address (?lat=..&lon=..&zoom=..&crs=.., WGS84 unless crs=gcj02), as the embed's "view full
   * map" link gives: the map shows it and lists the stations nearest its centre, keeping the view. False if none. */
  function showAskedView() {
    var lat = parseFloat(params.get("lat")), lon = parseFloat(params.get("lon"));
    if (!isFinite(lat) || !isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) { return false; }
    var zoom = parseInt(params.get("zoom"), 10);
    var from = params.get("crs") === "gcj02" ? "gcj02" : "wgs84";
    map.setView([lat, lon], isFinite(zoom) ? Math.min(19, Math.max(1, zoom)) : map.getZoom());
    state.holdView = true;
    setPosition(lon, lat, from, "asked_view");
    return true;
  }
  /* Station types asked in the address (?types=a,b): the rider page starts with them chosen. */
  function askedTypes() {
    return (params.get("types") || "").split(",").filter(function (name) { return TYPES.indexOf(name) >= 0; });
  }

  function startRider() {
    byId("yz-map-slot").appendChild(map.getContainer());
    map.invalidateSize();
    TYPES.forEach(function (name) { chip(byId("yz-types"), name, state.types); });
    AMENITIES.forEach(function (name) { chip(byId("yz-amenities"), name, state.amenities); });
    var openNow = byId("yz-open-now");
    openNow.addEventListener("change", function () {
      state.openNow = openNow.checked;
      search(state.lastStatus && state.lastStatus[0], state.lastStatus && state.lastStatus[1]);
    });
    Array.prototype.forEach.call(document.querySelectorAll("input[name=yz-travel]"), function (radio) {
      radio.checked = radio.value === state.travel;
      radio.addEventListener("change", function () {
        if (!radio.checked) { return; }
        state.travel = TRAVEL_MODES.indexOf(radio.value) >= 0 ? radio.value : "";
        try { window.localStorage.setItem(TRAVEL_KEY, state.travel); } catch (error) { /* kept for this visit only */ }
        search(state.lastStatus && state.lastStatus[0], state.lastStatus && state.lastStatus[1]);
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("input[name=yz-order]"), function (radio) {
      radio.checked = radio.value === state.order;
      radio.addEventListener("change", function () {
        if (!radio.checked) { return; }
        state.order = radio.value === "distance" ? "distance" : "open_first";
        search(state.lastStatus && state.lastStatus[0], state.lastStatus && state.lastStatus[1]);
      });
    });
    byId("yz-lang").addEventListener("click", function () {
      state.lang = state.lang === "zh" ? "en" : "zh";
      applyLanguage();
    });
    byId("yz-locate").addEventListener("click", locate);
    byId("yz-district").addEventListener("change", function (event) {
      var option = event.target.selectedOptions[0];
      if (!option || !option.value) { return; }
      var lonLat = JSON.parse(option.dataset.center);  // from /districts: WGS84
      setPosition(lonLat[0], lonLat[1], "wgs84", "picked_district", {name: option.textContent});
    });
    map.on("click", function (event) { setPosition(event.latlng.lng, event.latlng.lat, crs, "picked"); });
    if (byId("yz-search-form")) {
      byId("yz-search-form").addEventListener("submit", function (event) {
        event.preventDefault();
        searchPlaces(byId("yz-search").value);
      });
    }
    applyLanguage();
    setStatus("start");
    loadDistricts();
    if (!showAskedView()) { locate(); }
    registerOffline();
  }

  function startMap() {
    var features = config.features || [];
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    var main = el("main", "yz-map-main");  // the page's landmark and heading: the map is all there is
    main.appendChild(el("h1", "yz-visually-hidden", config.title || t("map")));
    var container = map.getContainer();
    container.parentNode.insertBefore(main, container);
    main.appendChild(container);
    map.invalidateSize();
    drawStations(features, false);
    if (config.fit) { map.fitBounds(config.fit, {padding: [20, 20], maxZoom: 16}); }
    if (config.controls !== false) {
      legend = legendControl(features);
      legend.addTo(map);
    }
    if (mode === "embed") { startEmbed(features); }
    localizeMap();
  }

  leaders.addTo(map);
  map.on("zoomend", spreadMarkers);
  map.on("popupopen", localizeMap);
  if (mode === "rider") { startRider(); } else { startMap(); }
  window.yizhan = {map: map, state: state, select: select, hoursInWords: hoursInWords};
}

/* Where to draw map markers so that their square tap boxes (`size` CSS px) never overlap: `points` are the
 * markers' places ([x, y] screen px), most important first. Each keeps its place if its box is clear of those
 * already placed, else takes the nearest clear spot on a grid of half a box around it (within 16 half-boxes:
 * room for 60 markers, more than are ever drawn unclustered). Returns one [dx, dy] per point.
 * spreadPins([[0, 0], [10, 0]], 44) → [[0, 0], [0, -44]] (the second moved one box up: the nearest clear spot,
 * ties broken by the order of the grid) */
/* exported spreadPins -- called by yizhanApp; the tests call it too */
function spreadPins(points, size) {
  "use strict";
  var step = size / 2, reach = 16, candidates = [], placed = [];
  for (var i = -reach; i <= reach; i++) {
    for (var j = -reach; j <= reach; j++) { candidates.push([i * step, j * step]); }
  }
  candidates.sort(function (a, b) { return a[0] * a[0] + a[1] * a[1] - (b[0] * b[0] + b[1] * b[1]); });
  return points.map(function (point) {
    var offset = [0, 0];
    for (var k = 0; k < candidates.length; k++) {
      var x = point[0] + candidates[k][0], y = point[1] + candidates[k][1];
      var clear = placed.every(function (other) { return Math.abs(other[0] - x) >= size || Math.abs(other[1] - y) >= size; });
      if (clear) { offset = candidates[k]; break; }
    }
    placed.push([point[0] + offset[0], point[1] + offset[1]]);
    return [offset[0], offset[1]];
  });
}
