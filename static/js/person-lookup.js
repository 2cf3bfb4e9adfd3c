// The registry lookup of the report and registration forms (templates/_person_lookup.html):
// a name or a full identity number is posted to the form's data-lookup-url (so a number typed
// in stays out of URLs and logs) and each person found becomes a button. Used by
// incident-report.js and dispute-register.js, loaded before them.
//
// window.kailiPersonLookup(form, text, onPick): shows the lookup inside ``form`` (when the
// page has one) and returns its search box, else null; ``text`` holds the messages
// (searching, pick, not_found, lookup_failed); a tapped person clears the lookup and goes
// to onPick({id, name, id_number_masked}).
(function () {
  "use strict";
  window.kailiPersonLookup = function (form, text, onPick) {
    var lookup = form.querySelector("[data-lookup]");
    if (!lookup) return null;
    var query = lookup.querySelector("[data-lookup-q]");
    var results = lookup.querySelector("[data-lookup-results]");
    var status = lookup.querySelector("[data-lookup-status]");
    lookup.hidden = false;

    function run() {
      var typed = query.value.trim();
      results.innerHTML = "";
      if (!typed) return;
      status.textContent = text.searching;
      var body = new FormData();
      body.append("q", typed);
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
          status.textContent = answer.results.length ? text.pick : text.not_found;
          answer.results.forEach(function (person) {
            var item = document.createElement("li");
            var button = document.createElement("button");
            button.type = "button";
            button.className = "button";
            button.textContent = person.name + " " + person.id_number_masked;
            button.addEventListener("click", function () {
              results.innerHTML = "";
              status.textContent = "";
              query.value = "";
              onPick(person);
            });
            item.appendChild(button);
            results.appendChild(item);
          });
        })
        .catch(function () {
          status.textContent = text.lookup_failed;
        });
    }
    lookup.querySelector("[data-lookup-go]").addEventListener("click", run);
    query.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        run();
      }
    });
    return query;
  };
})();
