// Step forms on the dispute page (templates/disputes/detail.html): choosing a tier fills
// in the deadline its time limit gives, unless the date was typed by hand. Without this
// script an empty date means the same to the server.
(function () {
  "use strict";
  function isoDate(date) {
    var month = String(date.getMonth() + 1).padStart(2, "0");
    var day = String(date.getDate()).padStart(2, "0");
    return date.getFullYear() + "-" + month + "-" + day;
  }
  Array.prototype.forEach.call(document.querySelectorAll("select[data-tier-days]"), function (select) {
    var due = select.form && select.form.querySelector("input[name=due_on]");
    if (!due) return;
    var days = JSON.parse(select.getAttribute("data-tier-days"));
    var filled = due.value;
    due.addEventListener("input", function () { filled = null; });
    select.addEventListener("change", function () {
      if (filled === null && due.value) return;
      var limit = days[select.value];
      if (limit === undefined) return;
      var date = new Date();
      date.setDate(date.getDate() + limit);
      due.value = filled = isoDate(date);
    });
  });
})();
