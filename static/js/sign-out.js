// Signing out on purpose clears the drafts this browser keeps of unsent reports (names,
// places, masked identity numbers): a shared phone keeps nothing of the last user. A
// session that merely timed out keeps them, so a report being typed is not lost.
(function () {
  "use strict";
  var form = document.querySelector("form[data-sign-out]");
  if (!form) return;
  form.addEventListener("submit", function () {
    try {
      var store = window.localStorage;
      for (var i = store.length - 1; i >= 0; i -= 1) {
        var key = store.key(i);
        if (key && key.indexOf("kaili.") === 0) store.removeItem(key);
      }
    } catch (error) {
      // storage unavailable (private mode): nothing was kept
    }
  });
})();
