// The docs page: Swagger UI over the stack's own OpenAPI document (served from node_modules, nothing from a CDN).
window.ui = window.SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger',
  deepLinking: true,
  tryItOutEnabled: true,
  // The stack's document names its models; the validator badge would call an outside service.
  validatorUrl: null,
});
