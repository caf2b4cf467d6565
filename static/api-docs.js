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

  // Swagger UI's own layout puts the operations in a <main>, which inside
  // the page's <main> is a second, nested main landmark. This is the same
  // layout (swagger-ui 5's BaseLayout) with a plain <div> there.
  function PlannerLayoutPlugin(system) {
    var h = system.React.createElement;
    function PlannerLayout(props) {
      var spec = props.specSelectors;
      var c = props.getComponent;
      var Row = c('Row');
      var Col = c('Col');
      var Errors = c('errors', true);
      var status = spec.loadingStatus();
      if (status === 'loading' || !spec.specStr()) {
        return h('div', { className: 'swagger-ui' }, h('div', { className: 'loading-container' },
          h('div', { className: 'info' }, h('div', { className: 'loading' }))));
      }
      if (status === 'failed' || status === 'failedConfig') {
        return h('div', { className: 'swagger-ui' }, h('div', { className: 'loading-container' },
          h('div', { className: 'info' }, h('p', { className: 'title' }, 'The API description did not load.'), h(Errors))));
      }
      var servers = spec.servers();
      var schemes = spec.schemes();
      var hasServers = servers && servers.size;
      var hasSchemes = schemes && schemes.size;
      var hasAuth = !!spec.securityDefinitions();
      var col = function (child) { return h(Row, null, h(Col, { mobile: 12, desktop: 12 }, child)); };
      return h('div', { className: 'swagger-ui' },
        h(c('SvgAssets')),
        h(c('VersionPragmaFilter'), { isSwagger2: spec.isSwagger2(), isOAS3: spec.isOAS3(), isOAS31: spec.isOAS31(), alsoShow: h(Errors) },
          h(Errors),
          h(Row, { className: 'information-container' }, h(Col, { mobile: 12 }, h(c('InfoContainer', true)))),
          hasServers || hasSchemes || hasAuth ? h('div', { className: 'scheme-container' },
            h(Col, { className: 'schemes wrapper', mobile: 12 },
              hasServers || hasSchemes ? h('div', { className: 'schemes-server-container' },
                hasServers ? h(c('ServersContainer', true)) : null,
                hasSchemes ? h(c('SchemesContainer', true)) : null) : null,
              hasAuth ? h(c('AuthorizeBtnContainer', true)) : null)) : null,
          h(c('FilterContainer', true)),
          h('div', { id: 'operations' },
            col(h(c('operations', true))),
            col(h(c('Models', true))))));
    }
    return { components: { PlannerLayout: PlannerLayout } };
  }

  window.SwaggerUIBundle({
    url: root.getAttribute('data-spec'),
    domNode: root,
    plugins: [PlannerLayoutPlugin],
    layout: 'PlannerLayout',
    // Deep links put a link inside each operation's toggle button: a
    // control inside a control, which keyboards and screen readers trip on.
    deepLinking: false,
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
      // The page's heading is its own <h1>: Swagger UI's title (another
      // <h1>) is read as a level-2 heading, so its operation groups
      // (<h3>) follow in order.
      var title = root.querySelector('.info h1.title');
      if (title) {
        title.setAttribute('role', 'heading');
        title.setAttribute('aria-level', '2');
      }
      // The servers list has no label of its own.
      var servers = root.querySelector('select#servers');
      if (servers && !servers.hasAttribute('aria-label')) {
        servers.setAttribute('aria-label', 'Server');
      }
      root.setAttribute('data-state', 'ready');
    }
  });
})();
