// Starts Swagger UI on /openapi.json: a separate file, so /docs needs no inline script (strict CSP) and no CDN.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
  });
});
