// Dispatch forms (case page, queue's bulk dispatch): the handler select offers the members
// of the chosen department only. Without this script every member is offered and the
// server refuses a handler who is not in the department.
(function () {
  "use strict";
  function narrow(form) {
    var department = form.querySelector("select[name=department]");
    var handler = form.querySelector("select[name=handler]");
    if (!department || !handler) return;
    var chosen = department.selectedIndex > 0 ? department.options[department.selectedIndex].text : "";
    Array.prototype.forEach.call(handler.querySelectorAll("optgroup"), function (group) {
      var show = !chosen || group.label === chosen;
      group.disabled = !show;
      group.hidden = !show;
    });
    var selected = handler.options[handler.selectedIndex];
    if (selected && selected.parentNode.tagName === "OPTGROUP" && selected.parentNode.disabled) handler.value = "";
  }
  Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
    var department = form.querySelector("select[name=department]");
    if (!department || !form.querySelector("select[name=handler]")) return;
    department.addEventListener("change", function () { narrow(form); });
    narrow(form);
  });
})();
