// Starts the interactive API reference (Swagger UI, vendored under
// swagger-ui/) on /api/docs. It is a file, not an inline script, so the
// page keeps Planner's strict Content-Security-Policy; without JavaScript
// the page's plain reference stays in place.
(function () {
  'use strict';
  var root = document.getElementById('swagger-ui');
  if (!root || typeof window.SwaggerUIBundle !== 'function') {
    return;
  }
  window.SwaggerUIBundle({
    url: root.getAttribute('data-spec'),
    domNode: root,
    deepLinking: true,
    defaultModelsExpandDepth: 1,
    displayRequestDuration: true,
    // The API reads bearer tokens only; never send this site's cookies.
    requestInterceptor: function (req) {
      req.credentials = 'omit';
      return req;
    },
    onComplete: function () {
      var plain = document.getElementById('api-reference-plain');
      if (plain) {
        plain.hidden = true;
      }
      root.setAttribute('data-state', 'ready');
    }
  });
})();
