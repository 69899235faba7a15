// Starts Swagger UI from a file rather than an inline script, so the pages can keep a
// Content-Security-Policy that forbids inline script.
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
  });
})();
