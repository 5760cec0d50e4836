package webhook

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// Keys of the certificate Secret besides tls.crt and tls.key (the serving certificate, as in
// every kubernetes.io/tls Secret). ca.crt follows cert-manager's convention.
const (
	// SecretCABundle holds the CAs the API server must trust, in PEM: the signing CA first,
	// then, during a CA rotation, the next CA or the retiring one. It is the caBundle.
	SecretCABundle = "ca.crt"
	// SecretCAKey is the private key of the CA that signs the serving certificate.
	SecretCAKey = "ca.key"
	// SecretNextCAKey is the private key of the next CA while it is trusted but does not
	// sign yet.
	SecretNextCAKey = "next-ca.key"
)

// certBackdate makes certificates valid from a little before their issue, so that an API
// server whose clock is behind ours accepts a certificate the moment a replica serves it.
// Lifetimes count from the issue, not from NotBefore.
const certBackdate = 5 * time.Minute

// maxRotationStep caps the wait between the steps of a CA rotation. The API server and the
// replicas see a change within seconds (watches); an hour leaves room for a slow one.
const maxRotationStep = time.Hour

// CertConfig says what the self-signed certificates hold and how long they live.
type CertConfig struct {
	// DNSNames and IPs are the serving certificate's subject alternative names; the first
	// DNS name is also its common name.
	DNSNames []string
	IPs      []net.IP
	// CAValidity and CertValidity are the lifetimes of the CA and the serving certificate.
	// A certificate is renewed at two thirds of its life.
	CAValidity   time.Duration
	CertValidity time.Duration
}

// Step is the wait between the steps of a CA rotation: a new CA signs only after the
// webhook configurations have carried it for a Step, and the old one leaves the bundle a
// Step after the serving certificate it signs is replaced. It is a twelfth of the shorter
// lifetime, at most an hour, so a rotation always ends well before anything expires.
func (c CertConfig) Step() time.Duration {
	return min(c.CAValidity/12, c.CertValidity/12, maxRotationStep)
}

// KeyPair is a certificate and its private key.
type KeyPair struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// CertBundle is what the certificate Secret holds.
type CertBundle struct {
	// CA signs Serving.
	CA *KeyPair
	// Next is the CA that will sign next: trusted, not signing yet.
	Next *KeyPair
	// Retiring are former CAs, still trusted until every replica serves a certificate of CA.
	Retiring []*x509.Certificate
	// Serving is the webhook server's certificate.
	Serving *KeyPair
}

// CAs returns the CAs to trust: CA, Next, then Retiring.
func (b *CertBundle) CAs() []*x509.Certificate {
	cas := []*x509.Certificate{b.CA.Cert}
	if b.Next != nil {
		cas = append(cas, b.Next.Cert)
	}
	return append(cas, b.Retiring...)
}

// TrustBundle returns the PEM of the CAs to trust: the webhook configurations' caBundle.
func (b *CertBundle) TrustBundle() []byte {
	pem, err := cert.EncodeCertificates(b.CAs()...)
	if err != nil { // only for a nil certificate, which a CertBundle never holds
		panic(err)
	}
	return pem
}

// Data returns the Secret's data.
func (b *CertBundle) Data() (map[string][]byte, error) {
	servingCert, err := cert.EncodeCertificates(b.Serving.Cert)
	if err != nil {
		return nil, err
	}
	data := map[string][]byte{SecretCABundle: b.TrustBundle(), corev1.TLSCertKey: servingCert}
	keys := map[string]crypto.Signer{SecretCAKey: b.CA.Key, corev1.TLSPrivateKeyKey: b.Serving.Key}
	if b.Next != nil {
		keys[SecretNextCAKey] = b.Next.Key
	}
	for name, key := range keys {
		if data[name], err = keyutil.MarshalPrivateKeyToPEM(key); err != nil {
			return nil, fmt.Errorf("encode %s: %w", name, err)
		}
	}
	return data, nil
}

// CertDecision is what Plan decided.
type CertDecision struct {
	// Bundle holds the certificates in force after the decision.
	Bundle *CertBundle
	// Changed says Bundle differs from what the Secret holds and must be written.
	Changed bool
	// Replaced are the unusable certificates found in the Secret and replaced, with why.
	Replaced []string
	// Rotated are the routine steps taken: issues, renewals, CA rotation steps.
	Rotated []string
	// Wake is when the next step is due, if nothing changes before.
	Wake time.Time
}

// Plan decides what the certificate Secret must hold at now, from what it holds (data; nil
// when it does not exist). trustedSince says since when the webhook configurations have
// carried a CA in their caBundle (zero: they do not); a next CA signs only a Step after.
//
// A CA rotation goes: the next CA joins the bundle at two thirds of the CA's life; a Step
// after the configurations carry it, it signs a new serving certificate and the old CA
// retires; a Step after that the old CA leaves the bundle. At every moment, each serving
// certificate a replica may serve is signed by a CA the API server trusts. A serving
// certificate renewal under the same CA changes no bundle.
func (c CertConfig) Plan(data map[string][]byte, now time.Time, trustedSince func(*x509.Certificate) time.Time) (CertDecision, error) {
	var d CertDecision
	step := c.Step()
	ca, next, retiring, err := parseAuthorities(data, now)
	fresh := err != nil
	if fresh {
		if len(data[SecretCABundle]) == 0 && len(data[SecretCAKey]) == 0 {
			d.Rotated = append(d.Rotated, "no certificates yet: issued a CA and a serving certificate")
		} else {
			d.Replaced = append(d.Replaced, fmt.Sprintf("CA unusable (%v): issued a new CA; webhook calls fail until the API server trusts it", err))
		}
		if ca, err = c.newCA(now); err != nil {
			return d, err
		}
		next, retiring = nil, nil
	}
	b := &CertBundle{CA: ca, Next: next}
	for _, r := range retiring {
		if !r.IsCA || !now.Before(r.NotAfter) {
			d.Rotated = append(d.Rotated, fmt.Sprintf("dropped CA %s from the bundle: expired or not a CA", describe(r)))
			continue
		}
		b.Retiring = append(b.Retiring, r)
	}
	if next != nil {
		if reason := unusableCA(next.Cert, now); reason != "" {
			d.Rotated = append(d.Rotated, fmt.Sprintf("dropped next CA %s: %s", describe(next.Cert), reason))
			b.Next = nil
		}
	}

	// The CA rotation.
	switch {
	case b.Next == nil && !now.Before(renewAt(b.CA.Cert)):
		if b.Next, err = c.newCA(now); err != nil {
			return d, err
		}
		d.Rotated = append(d.Rotated, fmt.Sprintf("CA %s is due for renewal: published the next CA %s beside it", describe(b.CA.Cert), describe(b.Next.Cert)))
	case b.Next != nil:
		if since := trustedSince(b.Next.Cert); !since.IsZero() && !now.Before(since.Add(step)) {
			d.Rotated = append(d.Rotated, fmt.Sprintf("CA %s signs from now on: the webhook configurations have trusted it since %s; CA %s retires",
				describe(b.Next.Cert), since.UTC().Format(time.RFC3339), describe(b.CA.Cert)))
			b.Retiring = append([]*x509.Certificate{b.CA.Cert}, b.Retiring...)
			b.CA, b.Next = b.Next, nil
		}
	}

	// The serving certificate.
	serving, err := parseServing(data, b.CA.Cert, now)
	names := c.DNSNames
	ips := c.IPs
	reissue := true
	switch {
	case fresh || b.CA != ca:
		// A new CA, fresh or promoted: the certificate in the Secret is another CA's.
	case err != nil && len(data[corev1.TLSCertKey]) == 0:
		d.Rotated = append(d.Rotated, "no serving certificate yet: issued one")
	case err != nil:
		d.Replaced = append(d.Replaced, fmt.Sprintf("serving certificate unusable (%v): issued a new one", err))
	case missing(serving.Cert, c.DNSNames, c.IPs) != "":
		// Keep the names the certificate has: during a rolling update that changes the names,
		// the replicas of each version find theirs and do not replace each other's forever.
		names = union(serving.Cert.DNSNames, c.DNSNames)
		ips = unionIPs(serving.Cert.IPAddresses, c.IPs)
		d.Rotated = append(d.Rotated, fmt.Sprintf("serving certificate %s lacks %s: issued a new one", describe(serving.Cert), missing(serving.Cert, c.DNSNames, c.IPs)))
	case !now.Before(renewAt(serving.Cert)):
		d.Rotated = append(d.Rotated, fmt.Sprintf("serving certificate %s is due for renewal: issued a new one", describe(serving.Cert)))
	default:
		reissue = false
		b.Serving = serving
	}
	if reissue {
		if b.Serving, err = c.newServing(b.CA, names, ips, now); err != nil {
			return d, err
		}
	}

	// Retiring CAs leave once every replica serves a certificate of the CA in force: a Step
	// after that certificate was written.
	if len(b.Retiring) > 0 && !now.Before(issued(b.Serving.Cert).Add(step)) {
		for _, r := range b.Retiring {
			d.Rotated = append(d.Rotated, fmt.Sprintf("dropped CA %s from the bundle: the replicas serve certificates of CA %s", describe(r), describe(b.CA.Cert)))
		}
		b.Retiring = nil
	}

	d.Bundle = b
	d.Changed = len(d.Replaced) > 0 || len(d.Rotated) > 0
	d.Wake = c.wake(b, now, trustedSince)
	return d, nil
}

// wake returns when the next step of b is due.
func (c CertConfig) wake(b *CertBundle, now time.Time, trustedSince func(*x509.Certificate) time.Time) time.Time {
	step := c.Step()
	times := []time.Time{renewAt(b.Serving.Cert)}
	switch {
	case b.Next == nil:
		times = append(times, renewAt(b.CA.Cert))
	case trustedSince(b.Next.Cert).IsZero():
		// Waiting for the configurations to carry it: their change wakes us; look again anyway.
		times = append(times, now.Add(step))
	default:
		times = append(times, trustedSince(b.Next.Cert).Add(step))
	}
	if len(b.Retiring) > 0 {
		times = append(times, issued(b.Serving.Cert).Add(step))
	}
	return slices.MinFunc(times, time.Time.Compare)
}

// newCA issues a self-signed CA.
func (c CertConfig) newCA(now time.Time) (*KeyPair, error) {
	return issueCert(&x509.Certificate{
		Subject:               pkix.Name{CommonName: fmt.Sprintf("sctpguard-webhook-ca@%d", now.Unix())},
		NotBefore:             now.Add(-certBackdate),
		NotAfter:              now.Add(c.CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}, nil)
}

// newServing issues a serving certificate signed by ca. It ends with the CA at the latest:
// a certificate is not valid past its CA.
func (c CertConfig) newServing(ca *KeyPair, names []string, ips []net.IP, now time.Time) (*KeyPair, error) {
	cn := "sctpguard-webhook"
	if len(names) > 0 {
		cn = names[0]
	}
	notAfter := now.Add(c.CertValidity)
	if ca.Cert.NotAfter.Before(notAfter) {
		notAfter = ca.Cert.NotAfter
	}
	return issueCert(&x509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		DNSNames:              names,
		IPAddresses:           ips,
		NotBefore:             now.Add(-certBackdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}, ca)
}

// issueCert gives tmpl a new ECDSA P-256 key and a random 128-bit serial number, and has
// parent sign it; a nil parent makes it self-signed.
func issueCert(tmpl *x509.Certificate, parent *KeyPair) (*KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate a key for %s: %w", tmpl.Subject.CommonName, err)
	}
	if tmpl.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128)); err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	signerCert, signer := tmpl, crypto.Signer(key)
	if parent != nil {
		signerCert, signer = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, key.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("sign certificate %s: %w", tmpl.Subject.CommonName, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &KeyPair{Cert: c, Key: key}, nil
}

// parseAuthorities reads the CAs of the Secret: the one whose key is ca.key signs, the one
// whose key is next-ca.key is next, the others retire. An unusable signing CA is an error.
func parseAuthorities(data map[string][]byte, now time.Time) (ca, next *KeyPair, retiring []*x509.Certificate, err error) {
	certs, err := cert.ParseCertsPEM(data[SecretCABundle])
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", SecretCABundle, err)
	}
	key, err := parseKey(data[SecretCAKey])
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", SecretCAKey, err)
	}
	// An unreadable next key loses the next CA only: a new one is published.
	nextKey, _ := parseKey(data[SecretNextCAKey])
	for _, c := range certs {
		switch {
		case ca == nil && matches(c, key):
			ca = &KeyPair{Cert: c, Key: key}
		case next == nil && nextKey != nil && matches(c, nextKey):
			next = &KeyPair{Cert: c, Key: nextKey}
		default:
			retiring = append(retiring, c)
		}
	}
	if ca == nil {
		return nil, nil, nil, fmt.Errorf("no certificate of %s belongs to %s", SecretCABundle, SecretCAKey)
	}
	if reason := unusableCA(ca.Cert, now); reason != "" {
		return nil, nil, nil, fmt.Errorf("CA %s: %s", describe(ca.Cert), reason)
	}
	return ca, next, retiring, nil
}

// unusableCA says why c cannot sign at now, or "".
func unusableCA(c *x509.Certificate, now time.Time) string {
	switch {
	case !c.BasicConstraintsValid || !c.IsCA:
		return "not a CA certificate"
	case c.KeyUsage&x509.KeyUsageCertSign == 0:
		return "may not sign certificates"
	case !now.Before(c.NotAfter):
		return "expired at " + c.NotAfter.UTC().Format(time.RFC3339)
	case now.Before(c.NotBefore):
		return "not valid before " + c.NotBefore.UTC().Format(time.RFC3339)
	}
	return ""
}

// parseServing reads tls.crt and tls.key, which must be a serving certificate signed by ca
// and valid at now.
func parseServing(data map[string][]byte, ca *x509.Certificate, now time.Time) (*KeyPair, error) {
	certs, err := cert.ParseCertsPEM(data[corev1.TLSCertKey])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", corev1.TLSCertKey, err)
	}
	key, err := parseKey(data[corev1.TLSPrivateKeyKey])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", corev1.TLSPrivateKeyKey, err)
	}
	c := certs[0]
	switch {
	case !matches(c, key):
		return nil, fmt.Errorf("%s does not belong to %s", corev1.TLSPrivateKeyKey, corev1.TLSCertKey)
	case c.CheckSignatureFrom(ca) != nil:
		return nil, fmt.Errorf("%s is not signed by CA %s", describe(c), describe(ca))
	case !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageServerAuth):
		return nil, fmt.Errorf("%s is not for server authentication", describe(c))
	case !now.Before(c.NotAfter):
		return nil, fmt.Errorf("%s expired at %s", describe(c), c.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(c.NotBefore):
		return nil, fmt.Errorf("%s is not valid before %s", describe(c), c.NotBefore.UTC().Format(time.RFC3339))
	}
	return &KeyPair{Cert: c, Key: key}, nil
}

func parseKey(pemData []byte) (crypto.Signer, error) {
	if len(pemData) == 0 {
		return nil, errors.New("missing")
	}
	k, err := keyutil.ParsePrivateKeyPEM(pemData)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("a %T cannot sign", k)
	}
	return s, nil
}

// matches says key is the private key of c.
func matches(c *x509.Certificate, key crypto.Signer) bool {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(c.PublicKey)
}

// issued is when c was issued: NotBefore is backdated.
func issued(c *x509.Certificate) time.Time { return c.NotBefore.Add(certBackdate) }

// renewAt is two thirds into c's life.
func renewAt(c *x509.Certificate) time.Time {
	from := issued(c)
	return from.Add(c.NotAfter.Sub(from) * 2 / 3)
}

// missing lists the names and addresses c lacks, or "".
func missing(c *x509.Certificate, names []string, ips []net.IP) string {
	var lack []string
	for _, n := range names {
		if !slices.Contains(c.DNSNames, n) {
			lack = append(lack, n)
		}
	}
	for _, ip := range ips {
		if !slices.ContainsFunc(c.IPAddresses, ip.Equal) {
			lack = append(lack, ip.String())
		}
	}
	return strings.Join(lack, ", ")
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func unionIPs(a, b []net.IP) []net.IP {
	out := slices.Clone(a)
	for _, ip := range b {
		if !slices.ContainsFunc(out, ip.Equal) {
			out = append(out, ip)
		}
	}
	return out
}

// Fingerprint is the start of c's SHA-256 fingerprint: enough to tell certificates apart
// in logs, which never show keys.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:8])
}

// describe names c in logs: subject, fingerprint, expiry.
func describe(c *x509.Certificate) string {
	return fmt.Sprintf("%s (sha256 %s, until %s)", c.Subject.CommonName, Fingerprint(c), c.NotAfter.UTC().Format(time.RFC3339))
}
