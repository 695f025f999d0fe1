// The API documentation page (/docs): Swagger UI, vendored in static/vendor, reading this
// server's own /openapi.json. A script file, not inline, so the page keeps the strict CSP.
(function () {
  "use strict";
  window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
