/* The leaders' dashboard (templates/dashboard/home.html).
 *
 * Charts with Apache ECharts served from static/vendor/echarts (no CDN: the platform runs
 * on an intranet), drawn on canvas from the figures the page carries in #dashboard-data;
 * the children's map is registered from their GeoJSON boundaries (no tiles). Also: the
 * node search as you type (dashboard:nodes), the children table's sort, and the map's
 * metric switch without a reload. Without this script the page still works: the search
 * and the period picker are plain GET forms and the table links drill down.
 */
(function () {
  "use strict";

  var root = document.getElementById("dashboard");
  if (!root) return;
  var dataElement = document.getElementById("dashboard-data");
  var data = dataElement ? JSON.parse(dataElement.textContent) : null;
  var strings = (data && data.strings) || {};

  var COLOURS = ["#b3261e", "#0b57d0", "#9a6700", "#1a7f37", "#6639ba", "#0a7c86"];
  var FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif';
  var charts = [];

  /* --- numbers ------------------------------------------------------------------------ */

  function count(value) {
    return value === null || value === undefined ? "—" : Math.round(value).toLocaleString("en-US");
  }

  function percent(value) {
    return value === null || value === undefined ? "—" : value.toFixed(1) + "%";
  }

  /* A headline metric's value as the cards print it (rates are fractions). */
  function metricText(kind, value) {
    if (value === null || value === undefined) return "—";
    if (kind === "rate") return (value * 100).toFixed(1) + "%";
    if (kind === "mean") return value.toFixed(2);
    return count(value);
  }

  function monthLabel(code) {
    var parts = code.split("-");
    return parts[0].slice(2) + "/" + parts[1];
  }

  /* --- charts ------------------------------------------------------------------------- */

  function makeChart(element, option) {
    var chart = window.echarts.init(element, null, { renderer: "canvas" });
    chart.on("finished", function () {
      element.setAttribute("data-rendered", "true");
    });
    chart.setOption(
      Object.assign(
        {
          color: COLOURS,
          animationDuration: 400,
          textStyle: { fontFamily: FONT },
          tooltip: { trigger: "axis", confine: true },
        },
        option
      )
    );
    charts.push(chart);
    return chart;
  }

  function lineSeries(series, valueFormatter) {
    return series.map(function (item) {
      return {
        type: "line",
        name: item.name,
        data: item.values,
        symbolSize: 6,
        connectNulls: false,
        tooltip: { valueFormatter: valueFormatter },
      };
    });
  }

  function trendCounts(element) {
    var trend = data.trend;
    makeChart(element, {
      legend: { top: 0, type: "scroll" },
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: trend.months.map(monthLabel), boundaryGap: false },
      yAxis: { type: "value", minInterval: 1 },
      series: lineSeries(trend.counts, count),
    });
  }

  function trendRates(element) {
    var trend = data.trend;
    makeChart(element, {
      legend: { top: 0, type: "scroll" },
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: trend.months.map(monthLabel), boundaryGap: false },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: lineSeries(trend.rates, percent),
    });
  }

  function breakdown(element) {
    var items = data.breakdowns[element.getAttribute("data-breakdown")].items.slice().reverse();
    makeChart(element, {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, confine: true, valueFormatter: count },
      grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: items.map(function (item) { return item.name; }) },
      series: [
        {
          type: "bar",
          data: items.map(function (item) { return item.value; }),
          barMaxWidth: 22,
          label: { show: true, position: "right", formatter: function (p) { return count(p.value); } },
        },
      ],
    });
  }

  function programmeCounts(element) {
    var programmes = data.programmes;
    makeChart(element, {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, confine: true, valueFormatter: count },
      grid: { left: 8, right: 16, top: 24, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: programmes.names, axisLabel: { interval: 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        {
          type: "bar",
          name: strings.people,
          data: programmes.counts,
          barMaxWidth: 36,
          itemStyle: { color: COLOURS[1] },
          label: { show: true, position: "top", formatter: function (p) { return count(p.value); } },
        },
      ],
    });
  }

  /* A note across a chart that has nothing to show (no follow-up fell due). */
  function emptyNote(values) {
    var empty = values.every(function (value) { return value === null || value === undefined; });
    return empty ? [{ type: "text", left: "center", top: "middle", style: { text: strings.noData, fill: "#656d76", fontSize: 14 } }] : [];
  }

  function programmeRates(element) {
    var programmes = data.programmes;
    makeChart(element, {
      graphic: emptyNote(programmes.rates),
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, confine: true, valueFormatter: percent },
      grid: { left: 8, right: 16, top: 24, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: programmes.names, axisLabel: { interval: 0 } },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: [
        {
          type: "bar",
          name: strings.onTime,
          data: programmes.rates,
          barMaxWidth: 36,
          itemStyle: { color: COLOURS[3] },
          label: {
            show: true,
            position: "top",
            formatter: function (p) { return p.value === null || p.value === undefined ? strings.noData : percent(p.value); },
          },
        },
      ],
    });
  }

  /* --- the children's map ---------------------------------------------------------------- */

  var MAP_NAME = "dashboard-children";
  // Low to high: a "down" metric (incidents) turns red as it grows, an "up" one (rates) green.
  var RAMP_DOWN = ["#e6f4ea", "#fff3c4", "#f6a38e", "#b3261e"];
  var RAMP_UP = ["#f6a38e", "#fff3c4", "#a8dab5", "#1a7f37"];

  function shortName(name) {
    var parent = data.node.name;
    return name.indexOf(parent) === 0 && name.length > parent.length ? name.slice(parent.length) : name;
  }

  function mapOption(metric) {
    var regions = data.map.regions;
    var info = data.headline[metric];
    var values = regions
      .map(function (region) { return region.values[metric]; })
      .filter(function (value) { return value !== null && value !== undefined; });
    var low = values.length ? Math.min.apply(null, values) : 0;
    var high = values.length ? Math.max.apply(null, values) : 1;
    if (high === low) high = low + (info.kind === "rate" ? 0.01 : 1);
    var byCode = {};
    regions.forEach(function (region) { byCode[region.code] = region; });
    return {
      tooltip: {
        trigger: "item",
        confine: true,
        formatter: function (p) {
          var region = byCode[p.name];
          // Names are typed by people (grid files, the admin): text, never markup.
          var escape = echarts.format.encodeHTML;
          return region ? escape(region.name) + "<br>" + escape(info.label) + "：" + escape(String(region.texts[metric])) : "";
        },
      },
      visualMap: {
        type: "continuous",
        min: low,
        max: high,
        orient: "horizontal",
        left: "center",
        bottom: 0,
        itemWidth: 12,
        itemHeight: 160,
        calculable: false,
        text: [strings.high, strings.low],
        inRange: { color: info.better === "up" ? RAMP_UP : RAMP_DOWN },
        formatter: function (value) { return metricText(info.kind, value); },
      },
      series: [
        {
          type: "map",
          map: MAP_NAME,
          roam: false,
          selectedMode: false,
          layoutCenter: ["50%", "46%"],
          layoutSize: "86%",
          itemStyle: { areaColor: "#eef0f2", borderColor: "#ffffff", borderWidth: 1 },
          emphasis: { itemStyle: { areaColor: "#ffd54f" }, label: { show: true } },
          label: {
            show: true,
            fontSize: 11,
            color: "#1f2328",
            textBorderColor: "rgba(255, 255, 255, .85)",
            textBorderWidth: 2,
            formatter: function (p) {
              var region = byCode[p.name];
              return region ? shortName(region.name) : "";
            },
          },
          data: regions.map(function (region) { return { name: region.code, value: region.values[metric] }; }),
        },
      ],
    };
  }

  function withMetric(href, metric) {
    var url = new URL(href, window.location.href);
    url.searchParams.set("metric", metric);
    return url.pathname + url.search;
  }

  function regionMap(element) {
    if (!data.map) return;
    window.echarts.registerMap(MAP_NAME, data.map.geojson);
    var chart = makeChart(element, mapOption(data.metric));
    chart.on("click", function (p) {
      var region = data.map.regions.filter(function (r) { return r.code === p.name; })[0];
      if (region) window.location.href = region.url;
    });
    var select = document.getElementById("map-metric");
    if (!select) return;
    var form = select.form;
    var button = form.querySelector("[data-without-script]");
    if (button) button.hidden = true;
    select.addEventListener("change", function () {
      var metric = select.value;
      chart.setOption(mapOption(metric), { replaceMerge: ["series", "visualMap"] });
      // Keep the choice in the address and in the links down and across (the table, the
      // regions, the breadcrumb, the period picker), so that the next page colours the same.
      window.history.replaceState(null, "", withMetric(window.location.href, metric));
      data.map.regions.forEach(function (region) { region.url = withMetric(region.url, metric); });
      root.querySelectorAll("#children a, .dash-crumbs a, .dash-kinds a, a.dash-step").forEach(function (link) {
        link.href = withMetric(link.href, metric);
      });
      var hidden = root.querySelector("form.dash-period input[name=metric]");
      if (!hidden) {
        hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = "metric";
        root.querySelector("form.dash-period").appendChild(hidden);
      }
      hidden.value = metric;
    });
  }

  var BUILDERS = {
    "trend-counts": trendCounts,
    "trend-rates": trendRates,
    breakdown: breakdown,
    "programme-counts": programmeCounts,
    "programme-rates": programmeRates,
    map: regionMap,
  };

  function drawCharts() {
    if (!data) return;
    var elements = root.querySelectorAll(".chart[data-chart]");
    if (!window.echarts) {
      elements.forEach(function (element) {
        element.textContent = strings.chartsMissing || "";
        element.classList.add("chart-missing");
      });
      return;
    }
    elements.forEach(function (element) {
      var build = BUILDERS[element.getAttribute("data-chart")];
      if (build) build(element);
    });
    var pending = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(function () {
        charts.forEach(function (chart) { chart.resize(); });
      }, 150);
    });
  }

  /* --- the children table's sort ----------------------------------------------------------- */

  function sortableTable(table) {
    var body = table.tBodies[0];
    var buttons = table.querySelectorAll("button.dash-sort");
    buttons.forEach(function (button) {
      button.addEventListener("click", function () {
        var column = Number(button.getAttribute("data-sort-column"));
        var header = button.closest("th");
        var ascending = header.getAttribute("aria-sort") !== "ascending";
        var textual = button.hasAttribute("data-sort-text");
        table.querySelectorAll("th[aria-sort]").forEach(function (th) { th.setAttribute("aria-sort", "none"); });
        header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[column].getAttribute("data-sort-value");
          var y = b.cells[column].getAttribute("data-sort-value");
          if (textual) return ascending ? x.localeCompare(y) : y.localeCompare(x);
          // "—" (no value) goes last whichever way the column is sorted.
          if (x === "" || y === "") return x === y ? 0 : x === "" ? 1 : -1;
          return ascending ? Number(x) - Number(y) : Number(y) - Number(x);
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  /* --- node search as you type ------------------------------------------------------------ */

  function nodeSearch(form) {
    var input = form.querySelector("input[type=search]");
    var results = document.getElementById("dash-search-results");
    var searchUrl = form.getAttribute("data-search-url");
    var homeUrl = form.getAttribute("data-home-url");
    var period = form.getAttribute("data-period");
    var pending = null;
    var latest = 0;

    function message(text) {
      results.hidden = false;
      results.replaceChildren();
      var p = document.createElement("p");
      p.className = "muted";
      p.textContent = text;
      results.appendChild(p);
    }

    function show(found) {
      if (!found.length) return message(strings.noMatch);
      var list = document.createElement("ul");
      list.className = "search-results";
      found.forEach(function (node) {
        var params = new URLSearchParams({ node: node.code });
        if (period) params.set("period", period);
        var link = document.createElement("a");
        link.href = homeUrl + "?" + params.toString();
        var name = document.createElement("span");
        name.className = "search-name";
        name.textContent = node.name;
        var kind = document.createElement("span");
        kind.className = "dash-kind";
        kind.textContent = node.kind;
        var path = document.createElement("span");
        path.className = "search-path";
        path.textContent = node.path;
        link.append(name, " ", kind, path);
        var item = document.createElement("li");
        item.appendChild(link);
        list.appendChild(item);
      });
      results.hidden = false;
      results.replaceChildren(list);
    }

    function search() {
      var query = input.value.trim();
      if (!query) {
        results.hidden = true;
        results.replaceChildren();
        return;
      }
      var ticket = ++latest;
      message(strings.searching);
      fetch(searchUrl + "?" + new URLSearchParams({ q: query }).toString(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          var type = response.headers.get("Content-Type") || "";
          if (!response.ok || type.indexOf("application/json") !== 0) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (answer) {
          if (ticket === latest) show(answer.results || []);
        })
        .catch(function () {
          if (ticket === latest) message(strings.searchFailed);
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(search, 250);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        input.value = "";
        results.hidden = true;
      }
    });
  }

  var searchForm = root.querySelector("form.dash-search");
  if (searchForm) nodeSearch(searchForm);
  var table = document.getElementById("children");
  if (table) sortableTable(table);
  drawCharts();
})();
