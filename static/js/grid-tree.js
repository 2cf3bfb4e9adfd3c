/* The grid tree page (templates/grids/tree.html): opens each level only when asked.
 *
 * The server renders the first level, so the page reads without this script. Here a
 * level is fetched from GET /api/grids/<code>/children/ the first time it is opened
 * (the 20,000-node tree never travels at once), the search box asks GET /api/grids/?q=,
 * and the "show retired" switch only flips a class: retired rows are always fetched and
 * hidden by CSS until asked for. No library, no inline script: the page hands over its
 * URLs in data- attributes and its translated strings through json_script.
 *
 * The rows are nested lists of disclosure buttons (aria-expanded / aria-controls) and
 * links rather than role="tree": each row holds more than one control, which the ARIA
 * tree pattern does not allow, while buttons and links need no extra keyboard code.
 */
(function () {
  "use strict";

  var tree = document.getElementById("grid-tree");
  var stringsElement = document.getElementById("grid-tree-strings");
  if (!tree || !stringsElement) return;

  var STRINGS = JSON.parse(stringsElement.textContent);
  var API = tree.dataset.api; // "/api/grids/"
  var DETAIL_URL = tree.dataset.detailUrl; // "/grids/CODE/"
  var TREE_URL = tree.dataset.treeUrl; // "/grids/tree/"
  var PAGE_SIZE = 500; // the API's maximum; a parent rarely has more, "load more" covers it
  var SEARCH_SIZE = 20;

  /* "下级 %(n)s" with {n: 3} -> "下级 3" (Django's named placeholders). */
  function t(key, values) {
    return STRINGS[key].replace(/%\((\w+)\)s/g, function (match, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : match;
    });
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function HttpError(status) {
    this.name = "HttpError";
    this.status = status;
    this.message = "HTTP " + status;
  }
  HttpError.prototype = Object.create(Error.prototype);

  function getJson(url, signal) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, signal: signal }).then(
      function (response) {
        if (!response.ok) throw new HttpError(response.status);
        return response.json();
      }
    );
  }

  function errorText(error) {
    if (error && error.status === 404) return t("notFound");
    // The API answers 401 after the idle timeout and 403 once the session is gone.
    if (error && (error.status === 401 || error.status === 403)) return t("signedOut");
    return t("loadFailed");
  }

  function showRetired() {
    var toggle = document.getElementById("tree-show-retired");
    return Boolean(toggle && toggle.checked);
  }

  function treeLink(code) {
    return TREE_URL + "?code=" + encodeURIComponent(code) + (showRetired() ? "&retired=1" : "");
  }

  function countText(value) {
    return value === null || value === undefined ? "—" : value;
  }

  /* ---- the tree ---------------------------------------------------------------- */

  /* The same markup as templates/grids/_tree_node.html. */
  function renderNode(item) {
    var li = element("li", "tree-node" + (item.is_retired ? " is-retired" : ""));
    li.dataset.code = item.code;
    var row = element("div", "tree-row");
    var hasChildren = item.children_count > 0;
    if (hasChildren) {
      var toggle = element("button", "tree-toggle");
      toggle.type = "button";
      toggle.setAttribute("aria-expanded", "false");
      toggle.setAttribute("aria-controls", "tree-children-" + item.code);
      toggle.setAttribute("aria-label", t("childrenOf", { name: item.name }));
      var caret = element("span", "tree-caret");
      caret.setAttribute("aria-hidden", "true");
      toggle.appendChild(caret);
      row.appendChild(toggle);
    } else {
      var spacer = element("span", "tree-spacer");
      spacer.setAttribute("aria-hidden", "true");
      row.appendChild(spacer);
    }
    var main = element("div", "tree-main");
    var name = element("a", "tree-name", item.name);
    name.href = DETAIL_URL.replace("CODE", encodeURIComponent(item.code));
    main.append(name, " ", element("span", "tree-kind", item.kind_display));
    if (item.merged_into_code) {
      main.append(" ", element("span", "tree-badge", t("mergedInto", { code: item.merged_into_code })));
    } else if (item.is_retired) {
      main.append(" ", element("span", "tree-badge", t("retired")));
    }
    var meta = element("div", "tree-meta");
    meta.append(
      element("span", "tree-code", item.code),
      " ",
      element("span", "tree-count", t("children", { n: item.children_count || 0 })),
      " ",
      element("span", "tree-count", t("households", { n: countText(item.households_total) }))
    );
    main.appendChild(meta);
    row.appendChild(main);
    if (hasChildren) {
      var open = element("a", "tree-open");
      open.href = treeLink(item.code);
      open.setAttribute("aria-label", t("openHere", { name: item.name }));
      var arrow = element("span", null, "›");
      arrow.setAttribute("aria-hidden", "true");
      open.appendChild(arrow);
      row.appendChild(open);
    }
    li.appendChild(row);
    if (hasChildren) {
      var group = element("ul", "tree-group");
      group.id = "tree-children-" + item.code;
      group.hidden = true;
      li.appendChild(group);
    }
    return li;
  }

  function childGroup(li) {
    return li.querySelector(":scope > .tree-group");
  }

  function childrenUrl(code) {
    return API + encodeURIComponent(code) + "/children/?include_retired=1&page_size=" + PAGE_SIZE;
  }

  function removeTransient(group) {
    group.querySelectorAll(":scope > .tree-status, :scope > .tree-error, :scope > .tree-more-item, :scope > .tree-empty").forEach(
      function (item) {
        item.remove();
      }
    );
  }

  function loadChildren(li, url) {
    var group = childGroup(li);
    if (!group || li.dataset.loading) return Promise.resolve();
    li.dataset.loading = "1";
    removeTransient(group);
    var status = element("li", "tree-status");
    status.setAttribute("role", "status");
    var spinner = element("span", "tree-spinner");
    spinner.setAttribute("aria-hidden", "true");
    status.append(spinner, t("loading"));
    group.appendChild(status);
    group.setAttribute("aria-busy", "true");
    return getJson(url)
      .then(function (page) {
        status.remove();
        page.results.forEach(function (item) {
          group.appendChild(renderNode(item));
        });
        li.dataset.loaded = "1";
        var shown = group.querySelectorAll(":scope > .tree-node").length;
        if (page.next) {
          var moreItem = element("li", "tree-more-item");
          var more = element("button", "tree-more", t("loadMore", { shown: shown, total: page.count }));
          more.type = "button";
          more.dataset.url = page.next;
          moreItem.appendChild(more);
          group.appendChild(moreItem);
        } else if (!group.querySelector(":scope > .tree-node:not(.is-retired)")) {
          group.appendChild(element("li", "tree-empty muted", t("noChildren")));
        }
      })
      .catch(function (error) {
        status.remove();
        var item = element("li", "tree-error");
        item.setAttribute("role", "alert");
        var retry = element("button", "tree-retry", t("retry"));
        retry.type = "button";
        retry.dataset.url = url;
        item.append(element("span", null, errorText(error)), " ", retry);
        group.appendChild(item);
      })
      .then(function () {
        delete li.dataset.loading;
        group.removeAttribute("aria-busy");
      });
  }

  function toggleNode(li, button) {
    var group = childGroup(li);
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    group.hidden = !open;
    if (open && !li.dataset.loaded) loadChildren(li, childrenUrl(li.dataset.code));
  }

  tree.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    var control = target.closest(".tree-toggle, .tree-retry, .tree-more");
    if (!control || !tree.contains(control)) return;
    var li = control.closest(".tree-node");
    if (control.classList.contains("tree-toggle")) {
      toggleNode(li, control);
    } else {
      // The pressed button goes away with the reload: keep the focus on the first new row.
      var before = childGroup(li).querySelectorAll(":scope > .tree-node").length;
      loadChildren(li, control.dataset.url).then(function () {
        var added = childGroup(li).querySelectorAll(":scope > .tree-node")[before];
        var focusable = added ? added.querySelector(".tree-name") : childGroup(li).querySelector("button");
        if (focusable) focusable.focus();
      });
    }
  });

  /* ---- "show retired / merged" ------------------------------------------------- */

  function replaceQuery(change) {
    if (!window.history || !window.history.replaceState) return;
    var url = new URL(window.location.href);
    change(url.searchParams);
    window.history.replaceState(null, "", url.pathname + (url.searchParams.toString() ? "?" + url.searchParams : ""));
  }

  var retiredToggle = document.getElementById("tree-show-retired");
  if (retiredToggle) {
    retiredToggle.addEventListener("change", function () {
      tree.classList.toggle("hide-retired", !retiredToggle.checked);
      replaceQuery(function (params) {
        if (retiredToggle.checked) params.set("retired", "1");
        else params.delete("retired");
      });
    });
  }

  /* ---- search -------------------------------------------------------------------- */

  var form = document.getElementById("tree-search");
  var panel = document.getElementById("tree-search-results");
  if (!form || !panel) return;
  var input = form.querySelector("input[name=q]");
  var summary = panel.querySelector(".tree-search-summary");
  var list = panel.querySelector(".search-results");
  var clear = panel.querySelector(".tree-search-clear");
  var controller = null;
  var timer = null;
  var paths = new Map(); // parent code -> Promise of the names from the city down to that parent

  function pathOf(result) {
    if (!result.parent_code) return Promise.resolve([]);
    if (!paths.has(result.parent_code)) {
      // The result's own ancestors: its parent may lie outside the scope, the result does not.
      var promise = getJson(API + encodeURIComponent(result.code) + "/ancestors/").then(function (ancestors) {
        return ancestors.map(function (ancestor) {
          return ancestor.name;
        });
      });
      promise.catch(function () {
        paths.delete(result.parent_code);
      });
      paths.set(result.parent_code, promise);
    }
    return paths.get(result.parent_code);
  }

  function renderResult(result) {
    var li = element("li");
    var link = element("a");
    link.href = treeLink(result.code);
    var path = element("span", "search-path", "…");
    link.append(
      element("span", "search-name", result.name),
      " ",
      element("span", "tree-kind", result.kind_display),
      " ",
      element("span", "tree-code", result.code),
      path
    );
    li.appendChild(link);
    pathOf(result).then(
      function (names) {
        path.textContent = names.join(" › ");
      },
      function () {
        path.textContent = "";
      }
    );
    return li;
  }

  function closeResults() {
    if (controller) controller.abort();
    panel.hidden = true;
    list.replaceChildren();
    summary.textContent = "";
    replaceQuery(function (params) {
      params.delete("q");
    });
  }

  function search(query, asked) {
    clearTimeout(timer);
    if (!query) {
      closeResults();
      return;
    }
    // While typing, one Latin letter or digit matches too much to be worth a request.
    if (!asked && query.length < 2 && /^[\x20-\x7e]*$/.test(query)) return;
    if (controller) controller.abort();
    controller = new AbortController();
    var signal = controller.signal;
    panel.hidden = false;
    summary.classList.remove("error-text");
    summary.textContent = t("searching");
    list.setAttribute("aria-busy", "true");
    getJson(API + "?q=" + encodeURIComponent(query) + "&page_size=" + SEARCH_SIZE, signal)
      .then(function (page) {
        list.replaceChildren.apply(list, page.results.map(renderResult));
        if (!page.results.length) summary.textContent = t("noMatch");
        else if (page.count > page.results.length)
          summary.textContent = t("foundTruncated", { n: page.count, shown: page.results.length });
        else summary.textContent = t("found", { n: page.count });
        replaceQuery(function (params) {
          params.set("q", query);
        });
      })
      .catch(function (error) {
        if (signal.aborted) return;
        list.replaceChildren();
        summary.classList.add("error-text");
        summary.textContent = errorText(error);
      })
      .then(function () {
        if (!signal.aborted) list.removeAttribute("aria-busy");
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    search(input.value.trim(), true);
  });
  input.addEventListener("input", function (event) {
    if (event.isComposing) return; // wait for the IME to finish a Chinese word
    clearTimeout(timer);
    timer = setTimeout(function () {
      search(input.value.trim(), false);
    }, 300);
  });
  input.addEventListener("compositionend", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      search(input.value.trim(), false);
    }, 300);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) {
      input.value = "";
      closeResults();
    }
  });
  if (clear) {
    clear.addEventListener("click", function (event) {
      event.preventDefault();
      input.value = "";
      closeResults();
      input.focus();
    });
  }
})();
