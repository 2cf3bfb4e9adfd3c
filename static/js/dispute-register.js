// The dispute registration form (templates/disputes/register.html): party rows added and
// removed on the phone, and registry people found through the incident pages' lookup
// (person-lookup.js). Without this script
// the form still works with the two rows the server renders.
(function () {
  "use strict";
  var form = document.getElementById("dispute-register");
  if (!form) return;
  var TEXT = JSON.parse(document.getElementById("dispute-register-text").textContent);
  var list = form.querySelector("[data-parties]");
  var template = form.querySelector("template[data-party-template]");

  function rows() {
    return list.querySelectorAll("[data-party-row]");
  }

  // Removing is offered while more than one row is left: a dispute has at least one party.
  function refresh() {
    var many = rows().length > 1;
    Array.prototype.forEach.call(list.querySelectorAll("[data-remove-party]"), function (button) {
      button.hidden = !many;
    });
  }

  // A registry person in a row: shown by name and masked number, the free fields hidden.
  function showPerson(item, person) {
    item.querySelector("input[name=party_person]").value = String(person.id);
    var display = item.querySelector("[data-party-display]");
    display.textContent = person.name + " " + person.id_number_masked;
    display.hidden = false;
    item.querySelector("[data-party-free]").hidden = true;
  }

  function addRow(person) {
    var item = template.content.firstElementChild.cloneNode(true);
    if (person) showPerson(item, person);
    if (rows().length) item.querySelector("select[name=party_role]").value = "respondent";
    list.appendChild(item);
    refresh();
    return item;
  }

  function isEmpty(item) {
    return !item.querySelector("input[name=party_person]").value &&
      !item.querySelector("input[name=party_name]").value &&
      !item.querySelector("input[name=party_id_number]").value;
  }

  list.addEventListener("click", function (event) {
    var button = event.target.closest("[data-remove-party]");
    if (!button) return;
    button.closest("[data-party-row]").remove();
    refresh();
  });
  var add = form.querySelector("[data-add-party]");
  add.hidden = false;
  add.addEventListener("click", function () {
    addRow(null).querySelector("input[name=party_name]").focus();
  });
  refresh();

  // A person found in the registry takes the first empty row, else a new one.
  window.kailiPersonLookup(form, TEXT, function (person) {
    var empty = Array.prototype.filter.call(rows(), isEmpty)[0];
    if (empty) showPerson(empty, person);
    else addRow(person);
  });
})();
