// Polls a roll-up run's progress every second (?format=json of its page) and reloads the
// page once the run has finished, so that it shows the outcome.
(function () {
  "use strict";
  var box = document.querySelector("[data-rollup-progress]");
  if (!box) return;
  var bar = box.querySelector("progress");
  var label = box.querySelector("[data-progress-label]");
  var url = box.getAttribute("data-rollup-progress");
  var failures = 0;

  function show(state) {
    bar.value = state.percent;
    label.textContent = (state.phase ? state.phase + " · " : "") + state.percent + "%" +
      (state.total ? "（" + state.done.toLocaleString() + "/" + state.total.toLocaleString() + "）" : "");
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (state) {
        failures = 0;
        show(state);
        if (state.finished) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        failures += 1;
        label.textContent = box.getAttribute("data-error-text");
        if (failures < 30) window.setTimeout(poll, 2000);
      });
  }
  window.setTimeout(poll, 1000);
})();
