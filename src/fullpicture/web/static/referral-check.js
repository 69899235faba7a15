// Checks the referral as the practitioner writes: a pause in typing (debounced) posts the form
// to the same check the "Save and check" button runs, and shows the result in the panel.
// Nothing is saved by this; the button still works without JavaScript.
(function () {
  "use strict";
  var form = document.querySelector("form[data-live-check]");
  var panel = document.getElementById("referral-check-live");
  if (!form || !panel) {
    return;
  }
  var url = form.getAttribute("data-live-check");
  var timer = null;
  var latest = 0;

  function check() {
    var asked = ++latest;
    var body = new URLSearchParams(new FormData(form));
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: body,
    })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html === null || asked !== latest) {
          return;
        }
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById("referral-check-panel");
        var current = document.getElementById("referral-check-panel");
        if (fresh && current) {
          current.replaceWith(document.importNode(fresh, true));
        }
      })
      .catch(function () {
        // A failed live check changes nothing; the button still checks.
      });
  }

  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 800);
  });
})();
