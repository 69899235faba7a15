// Keeps what a practitioner types in a form marked data-keep-draft in this tab's session
// storage, so it comes back if the page is reloaded or the session expired and they had to
// sign in again. Cleared when the server shows that the form was saved (data-draft-saved).
(function () {
  "use strict";
  var saved = document.querySelector("[data-draft-saved]");
  if (saved) {
    window.sessionStorage.removeItem("fp-draft:" + saved.getAttribute("data-draft-saved"));
  }
  document.querySelectorAll("form[data-keep-draft]").forEach(function (form) {
    var key = "fp-draft:" + form.getAttribute("data-keep-draft");
    var fields = form.querySelectorAll("input[type=text], input:not([type]), textarea, select");
    var stored = window.sessionStorage.getItem(key);
    if (stored) {
      try {
        var values = JSON.parse(stored);
        fields.forEach(function (field) {
          if (field.name && values[field.name] && !field.value) {
            field.value = values[field.name];
          }
        });
      } catch (ignored) {
        window.sessionStorage.removeItem(key);
      }
    }
    form.addEventListener("input", function () {
      var values = {};
      fields.forEach(function (field) {
        if (field.name && field.name !== "csrf_token") {
          values[field.name] = field.value;
        }
      });
      window.sessionStorage.setItem(key, JSON.stringify(values));
    });
  });
})();
