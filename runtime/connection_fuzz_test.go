package runtime

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzCredentials reads OAuth2 credentials files: one is refused with an
// error or names a client with a secret, reading never panics, and an
// error never quotes the secret.
func FuzzCredentials(f *testing.F) {
	f.Add([]byte(`{"type":"client_credentials","client_id":"meshc","client_secret":"s3cret-value","issuer_url":"https://issuer.example"}`))
	f.Add([]byte(`{"client_id":"meshc","client_secret":"s3cret-value"`))
	f.Add([]byte(`{"client_id":"meshc","client_secret":12345678}`))
	f.Add([]byte(`{"client_id":"","client_secret":"s3cret-value"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := parseCredentials(data)
		if err == nil {
			if k.ClientID == "" || k.ClientSecret == "" {
				t.Fatalf("%q read as client %q with secret %q; want both", data, k.ClientID, k.ClientSecret)
			}
			return
		}
		var loose struct {
			Secret string `json:"client_secret"`
		}
		if json.Unmarshal(data, &loose) != nil {
			return
		}
		// Errors are made of fixed words, field names and offsets: a
		// secret long enough and not of those words must not be there.
		secretLike := len(loose.Secret) >= 8 && strings.Trim(loose.Secret, "abcdefghijklmnopqrstuvwxyz_ ") != ""
		if secretLike && strings.Contains(err.Error(), loose.Secret) {
			t.Fatalf("error %q quotes the secret", err)
		}
	})
}
