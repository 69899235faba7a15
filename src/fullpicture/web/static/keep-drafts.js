// Keeps what a practitioner types or chooses in a form marked data-keep-draft in this tab's
// session storage, so it comes back if the page is reloaded, the server refuses it with an
// error summary, or the session expired and they had to sign in again.
//
// A draft is forgotten once its form was saved: the page after a save either names it
// (data-draft-saved), or is a page of this site without that form (the form was sent and the
// server moved on), or shows the form afresh with no error summary and not straight after
// signing in (a form that comes back empty once saved, such as the next supervision record).
// The sign-in page runs no script; the server marks a new session with a cookie instead.
(function () {
  "use strict";
  var store = window.sessionStorage;
  var DRAFT = "fp-draft:";
  var SENT = "fp-draft-sent:";
  // Set by the server with a new session (web/sign_in.py): the practitioner has just signed
  // in, so a form they sent as the last session ended is theirs to finish.
  var MARKER = "fp_signed_in";
  var returning = document.cookie.split("; ").indexOf(MARKER + "=1") !== -1;
  if (returning) {
    document.cookie = MARKER + "=; Max-Age=0; path=/; SameSite=Strict";
  }

  function forget(key) {
    store.removeItem(DRAFT + key);
    store.removeItem(SENT + key);
  }

  function sentKeys() {
    var keys = [];
    for (var i = 0; i < store.length; i++) {
      var name = store.key(i);
      if (name && name.indexOf(SENT) === 0) {
        keys.push(name.slice(SENT.length));
      }
    }
    return keys;
  }

  document.querySelectorAll("[data-draft-saved]").forEach(function (saved) {
    forget(saved.getAttribute("data-draft-saved"));
  });

  var forms = document.querySelectorAll("form[data-keep-draft]");
  var here = {};
  forms.forEach(function (form) {
    here[form.getAttribute("data-keep-draft")] = true;
  });
  var refused = document.querySelector(".govuk-error-summary") !== null;
  sentKeys().forEach(function (key) {
    if (here[key] && (returning || refused)) {
      store.removeItem(SENT + key); // back at the form: restored below, kept while typed
    } else {
      forget(key);
    }
  });

  function kept(field) {
    return field.name && field.name !== "csrf_token" && field.name !== "return_to";
  }

  forms.forEach(function (form) {
    var key = form.getAttribute("data-keep-draft");
    var fields = form.querySelectorAll(
      "input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=password]), textarea, select"
    );
    var stored = store.getItem(DRAFT + key);
    if (stored) {
      try {
        var values = JSON.parse(stored);
        fields.forEach(function (field) {
          if (!kept(field) || !(field.name in values)) {
            return;
          }
          var value = values[field.name];
          // A choice kept here is the practitioner's last one: it replaces the form's default
          // (after a refusal the server shows the same choice). Text fills only empty fields,
          // so nothing the server shows is overwritten.
          if (field.type === "radio") {
            field.checked = field.value === value;
          } else if (field.type === "checkbox") {
            field.checked = Array.isArray(value) && value.indexOf(field.value) !== -1;
          } else if (value && !field.value) {
            field.value = value;
          }
        });
      } catch (ignored) {
        forget(key);
      }
    }

    function keep() {
      var values = {};
      fields.forEach(function (field) {
        if (!kept(field)) {
          return;
        }
        if (field.type === "radio") {
          if (field.checked) {
            values[field.name] = field.value;
          }
        } else if (field.type === "checkbox") {
          values[field.name] = values[field.name] || [];
          if (field.checked) {
            values[field.name].push(field.value);
          }
        } else {
          values[field.name] = field.value;
        }
      });
      store.setItem(DRAFT + key, JSON.stringify(values));
    }

    form.addEventListener("input", keep);
    form.addEventListener("change", keep);
    form.addEventListener("submit", function () {
      keep();
      store.setItem(SENT + key, "sent");
    });
  });
})();
