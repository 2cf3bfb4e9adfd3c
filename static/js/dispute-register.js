// The dispute registration form (templates/disputes/register.html): party rows added and
// removed on the phone, and registry people found through the incident pages' lookup
// (posted, so an identity number typed in stays out of URLs and logs). Without this script
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

  function addRow(person) {
    var item = template.content.firstElementChild.cloneNode(true);
    if (person) {
      item.querySelector("input[name=party_person]").value = String(person.id);
      var display = item.querySelector("[data-party-display]");
      display.textContent = person.name + " " + person.id_number_masked;
      display.hidden = false;
      item.querySelector("[data-party-free]").hidden = true;
    }
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

  var lookup = form.querySelector("[data-lookup]");
  if (!lookup) return;
  var query = lookup.querySelector("[data-lookup-q]");
  var results = lookup.querySelector("[data-lookup-results]");
  var status = lookup.querySelector("[data-lookup-status]");
  lookup.hidden = false;

  function pick(person) {
    // The first empty row takes the person, else a new row.
    var empty = Array.prototype.filter.call(rows(), isEmpty)[0];
    if (empty) {
      empty.querySelector("input[name=party_person]").value = String(person.id);
      var display = empty.querySelector("[data-party-display]");
      display.textContent = person.name + " " + person.id_number_masked;
      display.hidden = false;
      empty.querySelector("[data-party-free]").hidden = true;
    } else {
      addRow(person);
    }
    results.innerHTML = "";
    status.textContent = "";
    query.value = "";
  }

  function run() {
    var text = query.value.trim();
    results.innerHTML = "";
    if (!text) return;
    status.textContent = TEXT.searching;
    var body = new FormData();
    body.append("q", text);
    fetch(form.getAttribute("data-lookup-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": form.elements.csrfmiddlewaretoken.value, Accept: "application/json" }
    })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        if (answer.error) {
          status.textContent = answer.error;
          return;
        }
        status.textContent = answer.results.length ? TEXT.pick : TEXT.not_found;
        answer.results.forEach(function (person) {
          var item = document.createElement("li");
          var button = document.createElement("button");
          button.type = "button";
          button.className = "button";
          button.textContent = person.name + " " + person.id_number_masked;
          button.addEventListener("click", function () { pick(person); });
          item.appendChild(button);
          results.appendChild(item);
        });
      })
      .catch(function () {
        status.textContent = TEXT.lookup_failed;
      });
  }
  lookup.querySelector("[data-lookup-go]").addEventListener("click", run);
  query.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      run();
    }
  });
})();
