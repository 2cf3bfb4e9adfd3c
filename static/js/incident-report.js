// The grid worker's report form (templates/cases/report.html).
//
// A report being typed is never lost: every input is saved as a local draft (per user, in
// localStorage) and restored when the form is opened again; the draft is removed only when
// a page from the server confirms the report (an element with data-confirmed-key equal to
// the draft's client key, on the case page the form redirects to). The client key goes with
// the draft, so sending the same report again creates it once. Photos cannot be kept in
// localStorage: the page says so.
//
// Also: the category picker's search box, "use my location" (one reading, on demand only),
// and the people lookup in the registry (person-lookup.js).
(function () {
  "use strict";
  var PREFIX = "kaili.incident-draft.";
  var SKIPPED = { csrfmiddlewaretoken: true, client_key: true, photos: true, files: true,
    involved_person: true, involved_name: true, involved_role: true };

  function openStorage() {
    try {
      var store = window.localStorage;
      store.setItem(PREFIX + "probe", "1");
      store.removeItem(PREFIX + "probe");
      return store;
    } catch (error) {
      return null;
    }
  }
  var store = openStorage();

  function readDraft(user) {
    if (!store) return null;
    try {
      return JSON.parse(store.getItem(PREFIX + user) || "null");
    } catch (error) {
      return null;
    }
  }

  // On any page: the server confirmed a report, forget its draft.
  Array.prototype.forEach.call(document.querySelectorAll("[data-confirmed-key]"), function (marker) {
    var user = marker.getAttribute("data-draft-user");
    var draft = readDraft(user);
    if (draft && draft.key && draft.key === marker.getAttribute("data-confirmed-key")) {
      store.removeItem(PREFIX + user);
    }
  });

  var form = document.getElementById("incident-report");
  if (!form) return;
  var TEXT = JSON.parse(document.getElementById("incident-report-text").textContent);
  var user = form.getAttribute("data-draft-user");
  var keyInput = form.elements.client_key;
  var peopleList = form.querySelector("[data-people]");
  var template = form.querySelector("template[data-person-template]");

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // --- people rows ---------------------------------------------------------------------

  function addRow(row) {
    var item = template.content.firstElementChild.cloneNode(true);
    var display = item.querySelector("[data-person-display]");
    var nameLabel = item.querySelector("[data-person-name]");
    item.querySelector("input[name=involved_person]").value = row.person || "";
    if (row.person) {
      display.textContent = row.display || "";
      display.hidden = false;
      nameLabel.hidden = true;
    } else {
      item.querySelector("input[name=involved_name]").value = row.name || "";
    }
    if (row.role) item.querySelector("select[name=involved_role]").value = row.role;
    peopleList.appendChild(item);
    return item;
  }

  function peopleRows() {
    return Array.prototype.map.call(peopleList.querySelectorAll("[data-person-row]"), function (item) {
      var display = item.querySelector("[data-person-display]");
      return {
        person: item.querySelector("input[name=involved_person]").value,
        display: display.hidden ? "" : display.textContent.replace(/\s+/g, " ").trim(),
        name: item.querySelector("input[name=involved_name]").value,
        role: item.querySelector("select[name=involved_role]").value
      };
    });
  }

  function removeEmptyFreeRows() {
    Array.prototype.forEach.call(peopleList.querySelectorAll("[data-person-row]"), function (item) {
      if (!item.querySelector("input[name=involved_person]").value && !item.querySelector("input[name=involved_name]").value) {
        item.remove();
      }
    });
  }

  peopleList.addEventListener("click", function (event) {
    var button = event.target.closest("[data-remove-person]");
    if (!button) return;
    button.closest("[data-person-row]").remove();
    save();
  });
  var addPerson = form.querySelector("[data-add-person]");
  addPerson.hidden = false;
  addPerson.addEventListener("click", function () {
    addRow({}).querySelector("input[name=involved_name]").focus();
  });

  // --- the draft -----------------------------------------------------------------------

  function fields() {
    return Array.prototype.filter.call(form.elements, function (element) {
      return element.name && !SKIPPED[element.name] && element.type !== "file" && element.type !== "submit" && element.type !== "button";
    });
  }

  function save() {
    if (!store) return;
    var values = {};
    fields().forEach(function (element) {
      values[element.name] = element.type === "checkbox" ? element.checked : element.value;
    });
    var draft = { key: keyInput.value, saved: new Date().toISOString(), values: values, people: peopleRows() };
    try {
      store.setItem(PREFIX + user, JSON.stringify(draft));
    } catch (error) {
      // Storage full or refused: the form still works, only the draft is not kept.
    }
  }

  function restore(draft) {
    fields().forEach(function (element) {
      if (!(element.name in draft.values)) return;
      if (element.type === "checkbox") element.checked = !!draft.values[element.name];
      else element.value = draft.values[element.name];
    });
    if (draft.people && draft.people.length) {
      peopleList.innerHTML = "";
      draft.people.forEach(addRow);
    }
    if (draft.key) keyInput.value = draft.key;
  }

  var note = form.querySelector("[data-draft-note]");
  var draft = readDraft(user);
  if (form.getAttribute("data-bound") === "1") {
    // The server sent the form back with errors: what it shows is what was posted.
    save();
  } else if (draft && draft.values) {
    restore(draft);
    var when = new Date(draft.saved);
    var text = note.querySelector("[data-draft-text]");
    if (!isNaN(when)) text.textContent = text.textContent + "（" + when.toLocaleString() + "）";
    note.hidden = false;
  } else {
    keyInput.value = newKey();
  }
  form.addEventListener("input", save);
  form.addEventListener("change", save);
  note.querySelector("[data-draft-clear]").addEventListener("click", function () {
    if (store) store.removeItem(PREFIX + user);
    form.reset();
    peopleList.innerHTML = "";
    addRow({});
    keyInput.value = newKey();
    note.hidden = true;
    filterCategories("");
  });
  form.addEventListener("submit", function () {
    removeEmptyFreeRows();
    save();
  });

  // --- category search -----------------------------------------------------------------

  var select = form.elements.category;
  var search = form.querySelector("[data-category-search]");
  var count = form.querySelector("[data-category-count]");
  var blank = select.options[0] && select.options[0].value === "" ? select.options[0].cloneNode(true) : null;
  var groups = Array.prototype.map.call(select.querySelectorAll("optgroup"), function (group) {
    return {
      label: group.label,
      options: Array.prototype.map.call(group.querySelectorAll("option"), function (option) {
        return { value: option.value, text: option.textContent };
      })
    };
  });

  function filterCategories(query) {
    query = (query || "").trim().toLowerCase();
    var current = select.value;
    var shown = 0;
    var single = null;
    select.innerHTML = "";
    if (blank) select.appendChild(blank.cloneNode(true));
    groups.forEach(function (group) {
      var matches = group.options.filter(function (option) {
        if (!query || option.value === current) return true;
        return (option.text + " " + option.value + " " + group.label).toLowerCase().indexOf(query) !== -1;
      });
      if (!matches.length) return;
      var element = document.createElement("optgroup");
      element.label = group.label;
      matches.forEach(function (option) {
        var item = document.createElement("option");
        item.value = option.value;
        item.textContent = option.text;
        element.appendChild(item);
        shown += 1;
        single = option.value;
      });
      select.appendChild(element);
    });
    select.value = current;
    if (!select.value && shown === 1 && query) select.value = single;
    count.hidden = !query;
    count.textContent = query ? count.getAttribute("data-template").replace("%n", shown) : "";
  }
  count.setAttribute("data-template", TEXT.matching);
  search.hidden = false;
  search.addEventListener("input", function (event) {
    event.stopPropagation(); // the search text is not part of the draft
    filterCategories(search.value);
  });

  // --- my location, once, on demand ----------------------------------------------------

  var locate = form.querySelector("[data-locate]");
  var locateStatus = form.querySelector("[data-locate-status]");
  if (navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      locate.disabled = true;
      locateStatus.textContent = TEXT.locating;
      navigator.geolocation.getCurrentPosition(
        function (position) {
          form.elements.latitude.value = position.coords.latitude.toFixed(6);
          form.elements.longitude.value = position.coords.longitude.toFixed(6);
          locateStatus.textContent = TEXT.located.replace("%s", Math.round(position.coords.accuracy));
          locate.disabled = false;
          save();
        },
        function (error) {
          locateStatus.textContent = error.code === 1 ? TEXT.locate_denied : TEXT.locate_failed;
          locate.disabled = false;
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
    });
  }

  // --- people lookup -------------------------------------------------------------------

  var query = window.kailiPersonLookup(form, TEXT, function (person) {
    removeEmptyFreeRows();
    addRow({ person: String(person.id), display: person.name + " " + person.id_number_masked });
    save();
  });
  // The lookup box is not part of the draft (it may hold an identity number).
  if (query) query.addEventListener("input", function (event) { event.stopPropagation(); });
})();
