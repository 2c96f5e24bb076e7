/* Yizhan 驿站 weekly opening-hours editor: days (一 … 日) + one or more time ranges per group + 24 h, and public
 * holidays as usual or closed; it writes OpenStreetMap opening_hours syntax into the station form's hours field
 * and reads the field back into its controls when the text is within its family (otherwise the text field stays
 * the way to edit, with a note). The server reads the field (OSM syntax or Chinese words, stations.hours_words).
 *
 * Use: YizhanHoursEditor.attach(inputElement, {lang: "zh" | "en"}) — lang defaults to the document's language
 * (Chinese unless it starts with "en"). Returns {element, read(), write()} or null when the input is missing or
 * already has an editor. The input stays the field that is posted; typing in it updates the controls.
 *
 * The family is the one of stations/hours_words.py (WeeklyHours without holiday hours of their own): rules
 * "Mo-Fr 08:30-11:30,13:30-17:00", "Sa 09:00-12:00", "24/7", "off", then optionally "PH off". The pure functions
 * (readOsm, writeOsm, groupsOf, weekOf) are exported as YizhanHoursEditor.logic for the tests.
 * No inline styles or event-handler attributes: the console's Content-Security-Policy allows neither. */
(function (root) {
  "use strict";
  var DAY = 1440;
  var OSM_DAYS = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"];
  var WORDS = {
    zh: {
      legend: "按周设置开放时间", days: "开放日", dayNames: ["一", "二", "三", "四", "五", "六", "日"],
      dayLong: ["周一", "周二", "周三", "周四", "周五", "周六", "周日"], group: "第{n}组", allDay: "全天24小时",
      from: "开始", to: "结束", range: "时段{n}", addRange: "添加时段", removeRange: "删除时段{n}",
      addGroup: "添加一组日期", removeGroup: "删除第{n}组", holidays: "法定节假日", holidaysSame: "照常开放（与平日相同）",
      holidaysOff: "休息", result: "写入的开放时间：", empty: "（未设置：开放时间未知）",
      outside: "这段开放时间超出编辑器能表示的范围，请直接修改上面的文本框（也可以写中文，如“周一至周五 9:00-17:00”）。",
      restart: "用编辑器重新设置", noTime: "第{n}组已选日期但没有时段，未写入。"
    },
    en: {
      legend: "Weekly opening hours", days: "Open on", dayNames: ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"],
      dayLong: ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"], group: "Group {n}",
      allDay: "Open 24 hours", from: "From", to: "To", range: "Range {n}", addRange: "Add a time range",
      removeRange: "Remove range {n}", addGroup: "Add a group of days", removeGroup: "Remove group {n}",
      holidays: "Public holidays", holidaysSame: "Open as usual", holidaysOff: "Closed",
      result: "Hours written: ", empty: "(not set: hours unknown)",
      outside: "These hours are beyond what the editor shows: edit the text field above (Chinese words such as " +
        "\u201c周一至周五 9:00-17:00\u201d are read too).",
      restart: "Set them again with the editor", noTime: "Group {n} has days but no time range: not written."
    }
  };

  // ------------------------------------------------------------------ pure logic (tests: YizhanHoursEditor.logic)

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function clock(minutes) {
    if (minutes > DAY) { minutes -= DAY; }
    return pad(Math.floor(minutes / 60)) + ":" + pad(minutes % 60);
  }

  function spanText(span) { return clock(span[0]) + "-" + clock(span[1]); }

  function merged(spans) {
    var sorted = spans.slice().sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    var out = [];
    sorted.forEach(function (span) {
      var last = out[out.length - 1];
      if (last && span[0] <= last[1]) {
        last[1] = Math.max(last[1], span[1]);
      } else {
        out.push([span[0], span[1]]);
      }
    });
    return out;
  }

  function key(spans) { return spans.map(spanText).join(","); }

  function isFullDay(spans) { return spans.length === 1 && spans[0][0] === 0 && spans[0][1] === DAY; }

  /* Days with the same ranges, in order of their first day: [{days: [0, 1, ...], spans: [[start, end], ...]}]. */
  function groupsOf(week) {
    var groups = [];
    var byKey = {};
    week.days.forEach(function (spans, day) {
      if (!spans.length) { return; }
      var k = key(spans);
      if (!Object.prototype.hasOwnProperty.call(byKey, k)) {
        byKey[k] = {days: [], spans: spans};
        groups.push(byKey[k]);
      }
      byKey[k].days.push(day);
    });
    return groups;
  }

  function dayText(days) {
    var runs = [];
    days.forEach(function (day) {
      var run = runs[runs.length - 1];
      if (run && run[1] === day - 1) { run[1] = day; } else { runs.push([day, day]); }
    });
    var parts = [];
    runs.forEach(function (run) {
      if (run[0] === run[1]) {
        parts.push(OSM_DAYS[run[0]]);
      } else if (run[1] === run[0] + 1) {
        parts.push(OSM_DAYS[run[0]], OSM_DAYS[run[1]]);
      } else {
        parts.push(OSM_DAYS[run[0]] + "-" + OSM_DAYS[run[1]]);
      }
    });
    return parts.join(",");
  }

  /* OSM syntax for a week {days: [7 x [[start, end], ...]], holidays: null | [] | [[start, end], ...]}, written
   * as stations.hours_words.write_osm writes it. "" for a week with no open day and no holiday rule. */
  function writeOsm(week) {
    var days = week.days.map(merged);
    var holidays = week.holidays === null || week.holidays === undefined ? null : merged(week.holidays);
    var rules = [];
    if (days.every(isFullDay)) {
      rules.push("24/7");
    } else {
      groupsOf({days: days}).forEach(function (group) {
        rules.push(dayText(group.days) + " " + group.spans.map(spanText).join(","));
      });
    }
    if (holidays !== null) {
      rules.push("PH " + (holidays.length ? holidays.map(spanText).join(",") : "off"));
    }
    return rules.join("; ") || "off";
  }

  var SPAN = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/;
  var DAY_ITEM = /^(Mo|Tu|We|Th|Fr|Sa|Su)(?:-(Mo|Tu|We|Th|Fr|Sa|Su))?$/;

  function readSpans(text) {
    if (text === "off" || text === "closed") { return []; }
    if (!text) { return [[0, DAY]]; }
    var spans = [];
    var items = text.split(",");
    for (var i = 0; i < items.length; i += 1) {
      var m = SPAN.exec(items[i].trim());
      if (!m) { return null; }
      var h1 = Number(m[1]), m1 = Number(m[2]), h2 = Number(m[3]), m2 = Number(m[4]);
      var start = h1 * 60 + m1, end = h2 * 60 + m2;
      if (h1 > 24 || h2 > 24 || m1 > 59 || m2 > 59 || start >= DAY) { return null; }
      if (end <= start) { end += DAY; }
      if (end > start + DAY) { return null; }
      spans.push([start, end]);
    }
    return spans;
  }

  /* The week OSM text describes when within the family (as stations.hours_words.read_osm reads it), else null. */
  function readOsm(text) {
    var days = [[], [], [], [], [], [], []];
    var holidays = null;
    var rules = String(text).trim().split(";");
    for (var r = 0; r < rules.length; r += 1) {
      var rule = rules[r].trim();
      if (!rule) { return null; }
      if (rule === "24/7") {
        if (holidays !== null) { return null; }
        days = days.map(function () { return [[0, DAY]]; });
        continue;
      }
      var space = rule.indexOf(" ");
      var selector = space < 0 ? rule : rule.slice(0, space);
      var rest = space < 0 ? "" : rule.slice(space + 1).trim();
      var chosen = [];
      var holiday = false;
      if (/^\d{2}:\d{2}-/.test(selector) || selector === "off" || selector === "closed") {
        chosen = [0, 1, 2, 3, 4, 5, 6];
        rest = rule;
      } else {
        var items = selector.split(",");
        for (var i = 0; i < items.length; i += 1) {
          if (items[i] === "PH") { holiday = true; continue; }
          var m = DAY_ITEM.exec(items[i]);
          if (!m) { return null; }
          var first = OSM_DAYS.indexOf(m[1]);
          var last = m[2] ? OSM_DAYS.indexOf(m[2]) : first;
          for (var k = 0; k <= (last - first + 7) % 7; k += 1) { chosen.push((first + k) % 7); }
        }
      }
      if (chosen.length && holidays !== null) { return null; }
      var spans = readSpans(rest);
      if (spans === null) { return null; }
      chosen.forEach(function (day) { days[day] = spans; });
      if (holiday) { holidays = spans; }
    }
    return {days: days, holidays: holidays};
  }

  /* The editor's groups [{days: [...], allDay: bool, spans: [[start, end]...]}] and holidays ("same" | "off")
   * for a week; null when the editor cannot show it: holiday hours of their own, or no open day ("off": the
   * editor writes nothing, unknown hours, when no day is chosen). */
  function editorState(week) {
    if (week.holidays !== null && week.holidays.length) { return null; }
    if (!week.days.some(function (spans) { return spans.length; })) { return null; }
    return {
      groups: groupsOf({days: week.days.map(merged)}).map(function (group) {
        return {days: group.days, allDay: isFullDay(group.spans), spans: isFullDay(group.spans) ? [] : group.spans};
      }),
      holidays: week.holidays === null ? "same" : "off"
    };
  }

  /* The week the editor's groups describe: a later group's days take its hours (as OSM's ";" does). Groups
   * with no day, or with days but neither 24 h nor a complete range, add nothing. */
  function weekOf(state) {
    var days = [[], [], [], [], [], [], []];
    state.groups.forEach(function (group) {
      var spans = group.allDay ? [[0, DAY]] : group.spans.filter(function (span) {
        return span[0] !== null && span[1] !== null && span[0] !== span[1];
      }).map(function (span) { return [span[0], span[1] < span[0] ? span[1] + DAY : span[1]]; });
      if (!spans.length) { return; }
      group.days.forEach(function (day) { days[day] = spans; });
    });
    return {days: days, holidays: state.holidays === "off" ? [] : null};
  }

  /* What the editor writes: "" when nothing is chosen (hours unknown), else OSM syntax. */
  function osmOf(state) {
    var week = weekOf(state);
    var open = week.days.some(function (spans) { return spans.length; });
    if (!open) { return ""; }
    return writeOsm(week);
  }

  // ------------------------------------------------------------------ the widget

  function minutesOf(value) {
    var m = /^(\d{2}):(\d{2})/.exec(value || "");
    return m ? Number(m[1]) * 60 + Number(m[2]) : null;
  }

  function timeValue(minutes) {
    if (minutes === null || minutes === undefined) { return ""; }
    minutes = minutes % DAY;
    return pad(Math.floor(minutes / 60)) + ":" + pad(minutes % 60);
  }

  function format(text, n) { return text.replace("{n}", String(n)); }

  var counter = 0;

  function attach(input, options) {
    if (!input || input.getAttribute("data-yz-hours-editor")) { return null; }
    var doc = input.ownerDocument;
    var lang = (options && options.lang) || doc.documentElement.getAttribute("lang") || "zh";
    var words = String(lang).toLowerCase().indexOf("en") === 0 ? WORDS.en : WORDS.zh;
    counter += 1;
    var prefix = "yz-he" + counter + "-";
    input.setAttribute("data-yz-hours-editor", "1");

    function el(tag, attrs, text) {
      var node = doc.createElement(tag);
      Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
      if (text !== undefined) { node.textContent = text; }
      return node;
    }

    function big(node) {  // 44 px targets, set through the CSSOM (allowed by the page's CSP)
      node.style.minHeight = "44px";
      node.style.minWidth = "44px";
      node.style.margin = "0.25rem 0.5rem 0.25rem 0";
      return node;
    }

    var box = el("fieldset", {"class": "yz-hours-editor"});
    box.appendChild(el("legend", {}, words.legend));
    var groupsBox = el("div", {"class": "yz-he-groups"});
    var addGroup = big(el("button", {type: "button", "class": "yz-he-add-group"}, words.addGroup));
    var holidaysBox = el("fieldset", {"class": "yz-he-holidays"});
    holidaysBox.appendChild(el("legend", {}, words.holidays));
    var holidayInputs = {};
    ["same", "off"].forEach(function (value) {
      var id = prefix + "ph-" + value;
      var label = big(el("label", {"for": id, "class": "yz-check"}));
      label.style.display = "inline-flex";
      label.style.alignItems = "center";
      var radio = el("input", {type: "radio", name: prefix + "ph", id: id, value: value});
      label.appendChild(radio);
      label.appendChild(doc.createTextNode(" " + (value === "same" ? words.holidaysSame : words.holidaysOff)));
      holidaysBox.appendChild(label);
      holidayInputs[value] = radio;
    });
    var result = el("p", {"class": "yz-hint yz-he-result", "aria-live": "polite"});
    var warning = el("p", {"class": "yz-hint yz-he-warning", "aria-live": "polite"});
    var outside = el("div", {"class": "yz-he-outside", role: "note"});
    outside.appendChild(el("p", {"class": "yz-hint"}, words.outside));
    var restart = big(el("button", {type: "button", "class": "yz-he-restart"}, words.restart));
    outside.appendChild(restart);
    var controls = el("div", {"class": "yz-he-controls"});
    controls.appendChild(groupsBox);
    controls.appendChild(addGroup);
    controls.appendChild(holidaysBox);
    box.appendChild(outside);
    box.appendChild(controls);
    box.appendChild(result);
    box.appendChild(warning);
    var field = input.parentNode;
    field.parentNode.insertBefore(box, field.nextSibling);

    var state = {groups: [], holidays: "same"};
    var writing = false;  // while the editor itself tells the page the field changed

    function showResult(text) {
      result.textContent = words.result + (text || words.empty);
    }

    function write() {
      var text = osmOf(state);
      input.value = text;
      showResult(text);
      var missing = [];
      state.groups.forEach(function (group, index) {
        var complete = group.spans.some(function (s) { return s[0] !== null && s[1] !== null && s[0] !== s[1]; });
        if (group.days.length && !group.allDay && !complete) { missing.push(format(words.noTime, index + 1)); }
      });
      warning.textContent = missing.join(" ");
      var event = doc.createEvent("Event");  // ES5: no Event constructor assumed
      event.initEvent("change", true, false);
      writing = true;
      input.dispatchEvent(event);
      writing = false;
    }

    function render() {
      while (groupsBox.firstChild) { groupsBox.removeChild(groupsBox.firstChild); }
      state.groups.forEach(function (group, index) { groupsBox.appendChild(groupControls(group, index)); });
      holidayInputs[state.holidays].checked = true;
    }

    function groupControls(group, index) {
      var n = index + 1;
      var set = el("fieldset", {"class": "yz-he-group"});
      set.appendChild(el("legend", {}, format(words.group, n)));
      var daysRow = el("div", {"class": "yz-he-days", role: "group", "aria-label": words.days});
      words.dayNames.forEach(function (name, day) {
        var id = prefix + "g" + n + "-d" + day;
        var label = big(el("label", {"for": id, "class": "yz-check", title: words.dayLong[day]}));
        label.style.display = "inline-flex";
        label.style.alignItems = "center";
        var check = el("input", {type: "checkbox", id: id, "aria-label": words.dayLong[day]});
        check.checked = group.days.indexOf(day) >= 0;
        check.addEventListener("change", function () {
          group.days = [0, 1, 2, 3, 4, 5, 6].filter(function (d) {
            return d === day ? check.checked : group.days.indexOf(d) >= 0;
          });
          write();
        });
        label.appendChild(check);
        label.appendChild(el("span", {"aria-hidden": "true"}, " " + name));
        daysRow.appendChild(label);
      });
      set.appendChild(daysRow);
      var allDayId = prefix + "g" + n + "-24";
      var allDayLabel = big(el("label", {"for": allDayId, "class": "yz-check"}));
      allDayLabel.style.display = "inline-flex";
      allDayLabel.style.alignItems = "center";
      var allDay = el("input", {type: "checkbox", id: allDayId});
      allDay.checked = group.allDay;
      allDayLabel.appendChild(allDay);
      allDayLabel.appendChild(doc.createTextNode(" " + words.allDay));
      set.appendChild(allDayLabel);
      var ranges = el("div", {"class": "yz-he-ranges"});
      allDay.addEventListener("change", function () {
        group.allDay = allDay.checked;
        ranges.hidden = group.allDay;
        write();
      });
      group.spans.forEach(function (span, spanIndex) {
        var m = spanIndex + 1;
        var row = el("div", {"class": "yz-he-range", role: "group", "aria-label": format(words.range, m)});
        [0, 1].forEach(function (end) {
          var id = prefix + "g" + n + "-r" + m + "-" + end;
          var label = el("label", {"for": id}, (end ? words.to : words.from) + " ");
          var time = big(el("input", {type: "time", id: id, step: "300"}));
          time.value = timeValue(span[end]);
          time.addEventListener("change", function () {
            span[end] = minutesOf(time.value);
            write();
          });
          row.appendChild(label);
          row.appendChild(time);
          row.appendChild(doc.createTextNode(" "));
        });
        var remove = big(el("button", {type: "button", "class": "yz-he-remove-range"}, "×"));
        remove.setAttribute("aria-label", format(words.removeRange, m));
        remove.addEventListener("click", function () {
          group.spans.splice(spanIndex, 1);
          render();
          write();
          addRange.focus();
        });
        row.appendChild(remove);
        ranges.appendChild(row);
      });
      var addRange = big(el("button", {type: "button", "class": "yz-he-add-range"}, words.addRange));
      addRange.addEventListener("click", function () {
        var last = group.spans[group.spans.length - 1];
        group.spans.push(last ? [null, null] : [9 * 60, 17 * 60]);
        render();
        write();
        var inputs = groupsBox.querySelectorAll(".yz-he-group")[index].querySelectorAll("input[type=time]");
        inputs[inputs.length - 2].focus();
      });
      ranges.appendChild(addRange);
      ranges.hidden = group.allDay;
      set.appendChild(ranges);
      var removeGroup = big(el("button", {type: "button", "class": "yz-he-remove-group"}, format(words.removeGroup, n)));
      removeGroup.addEventListener("click", function () {
        state.groups.splice(index, 1);
        render();
        write();
        addGroup.focus();
      });
      set.appendChild(removeGroup);
      return set;
    }

    addGroup.addEventListener("click", function () {
      state.groups.push({days: [], allDay: false, spans: [[9 * 60, 17 * 60]]});
      render();
      write();
      var boxes = groupsBox.querySelectorAll(".yz-he-group");
      boxes[boxes.length - 1].querySelector("input[type=checkbox]").focus();
    });
    ["same", "off"].forEach(function (value) {
      holidayInputs[value].addEventListener("change", function () {
        if (holidayInputs[value].checked) { state.holidays = value; write(); }
      });
    });

    function useEditor(fresh) {
      outside.hidden = true;
      controls.hidden = false;
      if (fresh) { state = {groups: [{days: [], allDay: false, spans: [[9 * 60, 17 * 60]]}], holidays: "same"}; }
      render();
    }

    restart.addEventListener("click", function () {
      useEditor(true);
      write();
      groupsBox.querySelector("input[type=checkbox]").focus();
    });

    /* Reads the field into the controls; false (the note shown, controls hidden) when it is beyond them. */
    function read() {
      var text = input.value.trim();
      if (!text) {
        state = {groups: [], holidays: "same"};
        useEditor(false);
        showResult("");
        return true;
      }
      var week = readOsm(text);
      var shown = week && editorState(week);
      if (!shown) {
        outside.hidden = false;
        controls.hidden = true;
        showResult(text);
        return false;
      }
      state = shown;
      useEditor(false);
      showResult(text);
      return true;
    }

    function fromField() { if (!writing) { read(); } }
    input.addEventListener("input", fromField);
    input.addEventListener("change", fromField);
    doc.addEventListener("yizhan:draft-restored", fromField);  // console.js refilled the form after sign-in
    read();
    return {element: box, read: read, write: write};
  }

  root.YizhanHoursEditor = {
    attach: attach,
    logic: {readOsm: readOsm, writeOsm: writeOsm, groupsOf: groupsOf, weekOf: weekOf, editorState: editorState,
      osmOf: osmOf}
  };
}(typeof window !== "undefined" ? window : this));
