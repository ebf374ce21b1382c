package apiserver

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// UserInfo is an authenticated identity.
type UserInfo struct {
	Name   string
	UID    string
	Groups []string
	Extra  map[string][]string
}

// Well-known groups.
const (
	GroupMasters       = "system:masters"
	GroupAuthenticated = "system:authenticated"
)

// Authenticator identifies the sender of a request. ok=false means "no
// credentials I understand"; an error means credentials were presented and
// are bad.
type Authenticator interface {
	AuthenticateRequest(r *http.Request) (user *UserInfo, ok bool, err error)
}

// Attributes are what an authorizer decides on.
type Attributes struct {
	User        *UserInfo
	Verb        string
	Namespace   string
	APIGroup    string
	APIVersion  string
	Resource    string
	Subresource string
	Name        string
	Path        string
	IsResource  bool
}

// Authorizer decides whether a request may proceed. reason explains a denial.
type Authorizer interface {
	Authorize(ctx context.Context, a Attributes) (allowed bool, reason string, err error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request) (*UserInfo, bool, error)

// AuthenticateRequest implements Authenticator.
func (f AuthenticatorFunc) AuthenticateRequest(r *http.Request) (*UserInfo, bool, error) { return f(r) }

// X509Authenticator accepts client certificates signed by the client CA: the
// common name is the user name, the organizations are the groups (as upstream).
type X509Authenticator struct {
	ClientCAs *x509.CertPool

	// Verified chains, so a client's many requests cost one chain
	// verification a minute instead of one each (it showed as 15% of the
	// server's CPU under a scheduler benchmark).
	mu       sync.Mutex
	verified map[string]verifiedChain
}

type verifiedChain struct {
	user  *UserInfo
	until time.Time
}

const (
	verifiedChainTTL = time.Minute
	verifiedChainMax = 4096
)

// AuthenticateRequest implements Authenticator.
func (a *X509Authenticator) AuthenticateRequest(r *http.Request) (*UserInfo, bool, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, false, nil
	}
	certs := r.TLS.PeerCertificates
	// The signatures identify the chain: they cover every other field.
	var key strings.Builder
	for _, c := range certs {
		key.Write(c.Signature)
	}
	now := time.Now()
	a.mu.Lock()
	v, ok := a.verified[key.String()]
	a.mu.Unlock()
	if ok && now.Before(v.until) {
		return v.user, true, nil
	}
	user, err := a.verify(certs)
	if err != nil {
		return nil, false, err
	}
	until := now.Add(verifiedChainTTL)
	if certs[0].NotAfter.Before(until) {
		until = certs[0].NotAfter
	}
	a.mu.Lock()
	if a.verified == nil || len(a.verified) >= verifiedChainMax {
		a.verified = map[string]verifiedChain{}
	}
	a.verified[key.String()] = verifiedChain{user: user, until: until}
	a.mu.Unlock()
	return user, true, nil
}

func (a *X509Authenticator) verify(certs []*x509.Certificate) (*UserInfo, error) {
	opts := x509.VerifyOptions{
		Roots:         a.ClientCAs,
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := certs[0].Verify(opts); err != nil {
		return nil, fmt.Errorf("verifying client certificate: %w", err)
	}
	cn := certs[0].Subject.CommonName
	if cn == "" {
		return nil, fmt.Errorf("client certificate has no common name")
	}
	groups := append([]string{}, certs[0].Subject.Organization...)
	groups = append(groups, GroupAuthenticated)
	return &UserInfo{Name: cn, Groups: groups}, nil
}

// UnionAuthenticator tries each authenticator in order.
type UnionAuthenticator []Authenticator

// AuthenticateRequest implements Authenticator.
func (u UnionAuthenticator) AuthenticateRequest(r *http.Request) (*UserInfo, bool, error) {
	var firstErr error
	for _, a := range u {
		user, ok, err := a.AuthenticateRequest(r)
		if ok {
			return user, true, nil
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return nil, false, firstErr
}

// MastersAuthorizer allows everything to members of system:masters and
// nothing to anyone else. RBAC and the node authorizer plug in beside it
// (the bootstrap issue).
type MastersAuthorizer struct{}

// Authorize implements Authorizer.
func (MastersAuthorizer) Authorize(_ context.Context, a Attributes) (bool, string, error) {
	for _, g := range a.User.Groups {
		if g == GroupMasters {
			return true, "", nil
		}
	}
	return false, "", nil
}

// forbidden builds upstream's 403 message for a denied request.
func forbidden(a Attributes, reason string) error {
	gr := schema.GroupResource{Group: a.APIGroup, Resource: a.Resource}
	var msg string
	if !a.IsResource {
		msg = fmt.Sprintf("User %q cannot %s path %q", a.User.Name, a.Verb, a.Path)
		gr = schema.GroupResource{}
	} else {
		res := a.Resource
		if a.Subresource != "" {
			res += "/" + a.Subresource
		}
		msg = fmt.Sprintf("User %q cannot %s resource %q in API group %q", a.User.Name, a.Verb, res, a.APIGroup)
		if a.Namespace != "" {
			msg += fmt.Sprintf(" in the namespace %q", a.Namespace)
		} else {
			msg += " at the cluster scope"
		}
	}
	if reason != "" {
		msg += ": " + reason
	}
	return apierrors.NewForbidden(gr, a.Name, fmt.Errorf("%s", msg))
}

type userKey struct{}

// withUser stores the authenticated user in ctx.
func withUser(ctx context.Context, u *UserInfo) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// userFrom returns the authenticated user of a request context.
func userFrom(ctx context.Context) *UserInfo {
	u, _ := ctx.Value(userKey{}).(*UserInfo)
	return u
}
