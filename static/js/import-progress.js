// Polls an import's progress and reloads the page when the task has finished.
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box) return;
  var bar = box.querySelector("progress");
  var label = box.querySelector("[data-progress-label]");
  var url = box.getAttribute("data-progress-url");
  var failures = 0;

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (state) {
        failures = 0;
        bar.value = state.percent;
        label.textContent = (state.phase ? state.phase + " · " : "") + state.percent + "%" +
          (state.total ? "（" + state.done.toLocaleString() + "/" + state.total.toLocaleString() + "）" : "");
        if (state.finished) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 700);
        }
      })
      .catch(function () {
        failures += 1;
        label.textContent = box.getAttribute("data-error-text");
        if (failures < 10) window.setTimeout(poll, 2000);
      });
  }
  poll();
})();
