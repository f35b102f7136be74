// Package testoauth is an OAuth2 authorization server for tests: it
// serves the client-credentials grant on 127.0.0.1, as an identity
// provider in front of a secured Pulsar does, and issues RS256 JWTs whose
// "sub" is a configured role, so that a broker given its public key
// (broker.Config.AuthTokenPublicKeyFile) accepts them.
//
// pulsar-client-go's OAuth2 authentication first reads the issuer's OIDC
// discovery document (ISSUER/.well-known/openid-configuration) for its
// token_endpoint, then POSTs a form there with grant_type
// client_credentials, client_id, client_secret, audience and scope; the
// server answers both, and counts token requests so that a test can show a
// client came back for a fresh token.
package testoauth
