/* A plain map of a grid node and its children (templates/grids/tree.html).
 *
 * Inline SVG drawn from the nodes' GeoJSON boundaries: no library and no tile server
 * (the platform runs on an intranet and serves every asset itself). Equirectangular
 * projection, x scaled by cos(latitude) so shapes keep their proportions at Kaili's
 * latitude, fitted to the viewBox. The children are coloured alternately, labelled with
 * their names, and each is a link that opens the tree at that child.
 */
(function () {
  "use strict";

  var figure = document.getElementById("grid-map");
  var dataElement = document.getElementById("grid-map-data");
  if (!figure || !dataElement) return;

  var SVG = "http://www.w3.org/2000/svg";
  var WIDTH = 320;
  var MIN_HEIGHT = 160;
  var MAX_HEIGHT = 400;
  var PADDING = 8;
  var LABEL_SIZE = 11; // viewBox units; the SVG scales with the page
  var MIN_LABEL_SIZE = 6;

  var data = JSON.parse(dataElement.textContent);
  var treeUrl = figure.dataset.treeUrl;

  /* Polygon or MultiPolygon -> a list of polygons, each a list of rings of [lon, lat]. */
  function polygons(geometry) {
    if (!geometry || !geometry.coordinates) return [];
    if (geometry.type === "Polygon") return [geometry.coordinates];
    if (geometry.type === "MultiPolygon") return geometry.coordinates;
    return [];
  }

  function svgElement(tag, attributes) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    return node;
  }

  var children = (data.children || []).filter(function (child) {
    return polygons(child.boundary).length > 0;
  });
  var nodeShape = data.node && polygons(data.node.boundary).length ? data.node : null;
  var shapes = (nodeShape ? [nodeShape] : []).concat(children);
  if (!shapes.length) {
    figure.hidden = true;
    return;
  }

  var points = [];
  shapes.forEach(function (shape) {
    polygons(shape.boundary).forEach(function (polygon) {
      polygon.forEach(function (ring) {
        ring.forEach(function (point) {
          if (isFinite(point[0]) && isFinite(point[1])) points.push(point);
        });
      });
    });
  });
  if (!points.length) {
    figure.hidden = true;
    return;
  }

  var minLon = Infinity, maxLon = -Infinity, minLat = Infinity, maxLat = -Infinity;
  points.forEach(function (point) {
    minLon = Math.min(minLon, point[0]);
    maxLon = Math.max(maxLon, point[0]);
    minLat = Math.min(minLat, point[1]);
    maxLat = Math.max(maxLat, point[1]);
  });
  var xScale = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180);
  var spanX = Math.max((maxLon - minLon) * xScale, 1e-9);
  var spanY = Math.max(maxLat - minLat, 1e-9);
  var height = Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, Math.round((WIDTH * spanY) / spanX)));
  var scale = Math.min((WIDTH - 2 * PADDING) / spanX, (height - 2 * PADDING) / spanY);
  var offsetX = (WIDTH - spanX * scale) / 2;
  var offsetY = (height - spanY * scale) / 2;

  function project(point) {
    return [offsetX + (point[0] - minLon) * xScale * scale, offsetY + (maxLat - point[1]) * scale];
  }

  function pathData(geometry) {
    var parts = [];
    polygons(geometry).forEach(function (polygon) {
      polygon.forEach(function (ring) {
        if (ring.length < 3) return;
        parts.push(
          ring
            .map(function (point, index) {
              var xy = project(point);
              return (index ? "L" : "M") + xy[0].toFixed(1) + " " + xy[1].toFixed(1);
            })
            .join("") + "Z"
        );
      });
    });
    return parts.join("");
  }

  /* Where the name goes: the centre point if the node has one, else the area centroid of
   * its largest outer ring (shoelace formula), else the middle of its points. */
  function labelPoint(shape) {
    var centre = shape.centre;
    if (centre && centre.type === "Point" && centre.coordinates) return project(centre.coordinates);
    var best = null, bestArea = 0;
    polygons(shape.boundary).forEach(function (polygon) {
      var ring = (polygon[0] || []).map(project);
      var area = 0, cx = 0, cy = 0;
      for (var i = 0; i < ring.length - 1; i++) {
        var cross = ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
        area += cross;
        cx += (ring[i][0] + ring[i + 1][0]) * cross;
        cy += (ring[i][1] + ring[i + 1][1]) * cross;
      }
      if (Math.abs(area) > Math.abs(bestArea)) {
        bestArea = area;
        best = [cx / (3 * area), cy / (3 * area)];
      }
    });
    if (best) return best;
    var ring = polygons(shape.boundary)[0][0].map(project);
    return [
      ring.reduce(function (sum, p) { return sum + p[0]; }, 0) / ring.length,
      ring.reduce(function (sum, p) { return sum + p[1]; }, 0) / ring.length,
    ];
  }

  /* Children's names mostly repeat their parent's ("新华社区第1网格" under 新华社区): drop it. */
  function shortName(name) {
    var parent = nodeShape && nodeShape.name;
    return parent && name.indexOf(parent) === 0 && name.length > parent.length ? name.slice(parent.length) : name;
  }

  function projectedWidth(shape) {
    var xs = [];
    polygons(shape.boundary).forEach(function (polygon) {
      (polygon[0] || []).forEach(function (point) { xs.push(project(point)[0]); });
    });
    return xs.length ? Math.max.apply(null, xs) - Math.min.apply(null, xs) : 0;
  }

  var svg = svgElement("svg", {
    viewBox: "0 0 " + WIDTH + " " + height,
    role: "group",
    "aria-label": figure.dataset.label || "",
    class: "grid-map-svg",
  });

  if (nodeShape) {
    var outline = svgElement("path", { d: pathData(nodeShape.boundary), class: "grid-map-node" });
    outline.appendChild(svgElement("title")).textContent = nodeShape.name;
    svg.appendChild(outline);
  }

  var labels = svgElement("g", { class: "grid-map-labels", "aria-hidden": "true" });
  children.forEach(function (child, index) {
    var link = svgElement("a", { href: treeUrl + "?code=" + encodeURIComponent(child.code), "aria-label": child.name });
    link.appendChild(svgElement("title")).textContent = child.name;
    link.appendChild(
      svgElement("path", {
        d: pathData(child.boundary),
        class: "grid-map-child " + (index % 2 ? "is-odd" : "is-even"),
        "data-code": child.code,
      })
    );
    svg.appendChild(link);
    var text = shortName(child.name);
    var size = Math.min(LABEL_SIZE, (0.9 * projectedWidth(child)) / text.length);
    if (size < MIN_LABEL_SIZE) return; // too small to read: the title and the list below name it
    var at = labelPoint(child);
    var label = svgElement("text", { x: at[0].toFixed(1), y: at[1].toFixed(1), class: "grid-map-label" });
    label.style.fontSize = size.toFixed(1) + "px";
    label.textContent = text;
    labels.appendChild(label);
  });
  // Names above every shape, and out of the way of taps (pointer-events: none in the CSS).
  svg.appendChild(labels);
  figure.insertBefore(svg, figure.firstChild);
})();
