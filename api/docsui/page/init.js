// Loam's settings for Swagger UI on /api/docs. Everything the page asks for
// comes from this server, as its Content-Security-Policy also insists:
//  - the document is /api/openapi.json, and queryConfigEnabled: false keeps
//    a ?url= in the page's address from pointing the page at another one;
//  - validatorUrl: null turns off the badge that sends the document to
//    validator.swagger.io;
//  - "Try it out" sends its requests to the document's server, "/": this one.
// The document is the one anonymous callers see until a token is given under
// "Authorize": the page then loads it again with that token, so a superuser
// sees every route. The token stays in this page's memory only.
(function () {
  "use strict";
  var documentURL = "/api/openapi.json";
  var token = "";

  // reloadOnAuth loads the document again whenever the token changes.
  function reloadOnAuth() {
    function wrap(set) {
      return function (action, system) {
        return function (payload) {
          var result = action(payload);
          token = set(payload);
          system.specActions.download(documentURL);
          return result;
        };
      };
    }
    return {
      statePlugins: {
        auth: {
          wrapActions: {
            authorize: wrap(function (payload) {
              var bearer = payload && payload.bearerAuth;
              return (bearer && bearer.value) || "";
            }),
            logout: wrap(function () { return ""; }),
          },
        },
      },
    };
  }

  window.ui = SwaggerUIBundle({
    url: documentURL,
    dom_id: "#docs",
    validatorUrl: null,
    queryConfigEnabled: false,
    deepLinking: true,
    displayOperationId: true,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [reloadOnAuth],
    layout: "BaseLayout",
    requestInterceptor: function (req) {
      if (req.loadSpec && token) {
        req.headers.Authorization = "Bearer " + token;
      }
      return req;
    },
  });
})();
