// Package testpki makes, for tests, what a secured Pulsar needs: a CA, a
// server certificate for 127.0.0.1 and client certificates signed by it,
// and signed tokens, as PEM and key files in the test's temporary folder.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// validity is how long the test certificates are valid, either side of now.
const validity = time.Hour

// PKI is a CA and a server certificate for 127.0.0.1, as PEM files. The
// CA's key is kept to sign client certificates.
type PKI struct {
	CAFile, CertFile, KeyFile string

	dir   string
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
}

// New makes a PKI in a temporary folder of t.
func New(t testing.TB) PKI {
	t.Helper()
	dir := t.TempDir()
	caKey, caDER := Cert(t, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "meshc test CA"},
		NotBefore: time.Now().Add(-validity), NotAfter: time.Now().Add(validity),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, nil, nil)
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, der := Cert(t, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-validity), NotAfter: time.Now().Add(validity),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, caKey)
	p := PKI{CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem"),
		dir: dir, ca: ca, caKey: caKey}
	WritePEM(t, p.CAFile, "CERTIFICATE", caDER)
	WritePEM(t, p.CertFile, "CERTIFICATE", der)
	WritePEM(t, p.KeyFile, "PRIVATE KEY", marshalKey(t, key))
	return p
}

// clientSerial numbers client certificates after the CA (1) and the
// server (2).
var clientSerial atomic.Int64

// Client makes a client certificate signed by the CA whose subject CN is
// cn (the role Pulsar's TLS authentication gives it) and returns its PEM
// certificate and key files.
func (p PKI) Client(t testing.TB, cn string) (certFile, keyFile string) {
	t.Helper()
	return p.ClientWith(t, cn, time.Now().Add(validity))
}

// ClientWith is Client with a certificate valid until notAfter: one in the
// past makes an expired certificate.
func (p PKI) ClientWith(t testing.TB, cn string, notAfter time.Time) (certFile, keyFile string) {
	t.Helper()
	if p.ca == nil {
		t.Fatal("testpki: PKI not made by New")
	}
	serial := big.NewInt(100 + clientSerial.Add(1))
	key, der := Cert(t, &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: notAfter.Add(-2 * validity), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, p.ca, p.caKey)
	base := filepath.Join(p.dir, "client-"+serial.String())
	certFile, keyFile = base+".pem", base+".key"
	WritePEM(t, certFile, "CERTIFICATE", der)
	WritePEM(t, keyFile, "PRIVATE KEY", marshalKey(t, key))
	return certFile, keyFile
}

func marshalKey(t testing.TB, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// Cert signs tmpl with parent's key, or itself when parent is nil.
func Cert(t testing.TB, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

// WritePEM writes one PEM block.
func WritePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Sign signs claims with method and key, as a Pulsar token.
func Sign(t testing.TB, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Tokens is an HS256 secret key file and a token file signed with it for
// role.
func Tokens(t testing.TB, role string) (secretFile, tokenFile string) {
	t.Helper()
	dir := t.TempDir()
	secret := make([]byte, 32)
	rand.Read(secret)
	secretFile, tokenFile = filepath.Join(dir, "secret.key"), filepath.Join(dir, "token")
	if err := os.WriteFile(secretFile, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	tok := Sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": role})
	if err := os.WriteFile(tokenFile, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return secretFile, tokenFile
}
