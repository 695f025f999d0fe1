"""Single sign-on: the server as OpenID Connect provider and SAML 2.0 identity provider."""
