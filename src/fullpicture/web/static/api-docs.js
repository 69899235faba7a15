// Starts Swagger UI from a file rather than an inline script, so the pages can keep a
// Content-Security-Policy that forbids inline script. A signed-in browser's writes carry the
// session's CSRF token (asked for once, from this site only); with an API token (Authorize)
// no CSRF token is needed and none is sent.
(function () {
  var root = document.getElementById("swagger-ui");
  var unsafe = { POST: true, PUT: true, PATCH: true, DELETE: true };
  var token = null;

  function csrfToken() {
    if (token !== null) {
      return Promise.resolve(token);
    }
    return fetch("/api/docs/csrf-token", { credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.json() : { csrf_token: "" };
      })
      .then(function (body) {
        token = body.csrf_token || "";
        return token;
      });
  }

  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    requestInterceptor: function (request) {
      var method = (request.method || "GET").toUpperCase();
      if (!unsafe[method] || (request.headers && request.headers.Authorization)) {
        return request;
      }
      return csrfToken().then(function (value) {
        if (value) {
          request.headers["X-CSRF-Token"] = value;
        }
        return request;
      });
    },
  });
})();
