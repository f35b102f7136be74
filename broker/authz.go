package broker

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/meshc/meshc/broker/internal/wire"
)

// Action is what a grant lets a role do in a namespace.
type Action string

// The actions, as Pulsar's AuthAction.
const (
	ActionProduce Action = "produce"
	ActionConsume Action = "consume"
)

// actionOrder is the order Grant.String writes actions in, so that a
// parsed grant prints the same whatever order it was written in.
var actionOrder = []Action{ActionProduce, ActionConsume}

// anyName in a grant's role, tenant or namespace matches every one.
const anyName = "*"

// Grant gives Role the Actions on the topics of the namespace
// Tenant/Namespace. Role, Tenant and Namespace may each be "*", for any.
type Grant struct {
	Role      string
	Tenant    string
	Namespace string
	Actions   []Action
}

// grantSyntax is how a grant is written, for error messages.
const grantSyntax = "ROLE=TENANT/NAMESPACE:ACTIONS, ACTIONS a comma list of produce and consume"

// nameRE is what a grant accepts as a tenant or namespace: Pulsar's names
// without '=' and ':', which would make the grant syntax ambiguous.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// ParseGrant reads ROLE=TENANT/NAMESPACE:ACTIONS, such as
// "alice=public/default:produce,consume" or "*=public/*:consume". The
// separators are taken from the right, so a role may contain any of them.
func ParseGrant(s string) (Grant, error) {
	rest, actions, ok1 := cutLast(s, ":")
	rest, namespace, ok2 := cutLast(rest, "/")
	role, tenant, ok3 := cutLast(rest, "=")
	if !ok1 || !ok2 || !ok3 {
		return Grant{}, fmt.Errorf("grant %q: want %s", s, grantSyntax)
	}
	g := Grant{Role: role, Tenant: tenant, Namespace: namespace}
	for a := range strings.SplitSeq(actions, ",") {
		if !slices.Contains(actionOrder, Action(a)) {
			return Grant{}, fmt.Errorf("grant %q: action %q: use produce or consume", s, a)
		}
		if !slices.Contains(g.Actions, Action(a)) {
			g.Actions = append(g.Actions, Action(a))
		}
	}
	slices.SortFunc(g.Actions, func(a, b Action) int { return slices.Index(actionOrder, a) - slices.Index(actionOrder, b) })
	if err := g.check(); err != nil {
		return Grant{}, fmt.Errorf("grant %q: %w", s, err)
	}
	return g, nil
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// String writes g as ParseGrant reads it.
func (g Grant) String() string {
	acts := make([]string, len(g.Actions))
	for i, a := range g.Actions {
		acts[i] = string(a)
	}
	return g.Role + "=" + g.Tenant + "/" + g.Namespace + ":" + strings.Join(acts, ",")
}

// check refuses a grant that ParseGrant would not have made.
func (g Grant) check() error {
	if err := checkRole(g.Role); err != nil && g.Role != anyName {
		return fmt.Errorf("role: %w", err)
	}
	for _, n := range []struct{ what, name string }{{"tenant", g.Tenant}, {"namespace", g.Namespace}} {
		if n.name != anyName && !nameRE.MatchString(n.name) {
			return fmt.Errorf("%s %q: use letters, digits, '_', '-' and '.', or * for any", n.what, n.name)
		}
	}
	if len(g.Actions) == 0 {
		return errors.New("no actions: give produce, consume or both")
	}
	for _, a := range g.Actions {
		if !slices.Contains(actionOrder, a) {
			return fmt.Errorf("action %q: use produce or consume", a)
		}
	}
	return nil
}

// checkRole refuses roles no token subject or certificate CN should have,
// and "*", which only a grant may use.
func checkRole(r string) error {
	switch {
	case r == "":
		return errors.New("empty")
	case r == anyName:
		return errors.New("* stands for any role in a grant only: name the role")
	case !utf8.ValidString(r) || strings.ContainsFunc(r, unicode.IsControl):
		return errors.New("has control characters or is not UTF-8")
	}
	return nil
}

// errAuthorization starts the message of every refusal for want of a
// permission; clients get it with ServerError AuthorizationError.
var errAuthorization = errors.New("authorization failed")

// authorizer decides what a role may do, as Pulsar's
// PulsarAuthorizationProvider does with namespace permissions.
type authorizer struct {
	superusers map[string]bool
	grants     []Grant
}

func newAuthorizer(cfg Config) *authorizer {
	a := &authorizer{superusers: map[string]bool{}, grants: slices.Clone(cfg.Grants)}
	for _, r := range cfg.SuperuserRoles {
		a.superusers[r] = true
	}
	return a
}

// may reports whether role may take one of acts on tenant/namespace.
func (a *authorizer) may(role, tenant, namespace string, acts ...Action) bool {
	if a.superusers[role] {
		return true
	}
	for _, g := range a.grants {
		if matches(g.Role, role) && matches(g.Tenant, tenant) && matches(g.Namespace, namespace) &&
			slices.ContainsFunc(acts, func(x Action) bool { return slices.Contains(g.Actions, x) }) {
			return true
		}
	}
	return false
}

func matches(pattern, name string) bool { return pattern == anyName || pattern == name }

// check returns why role may not take any of acts on tenant/namespace, or
// nil. One action is what PRODUCER and SUBSCRIBE need; produce or consume
// is what a lookup needs, as in Pulsar, since producers and consumers both
// look topics up.
func (a *authorizer) check(role, tenant, namespace string, acts ...Action) error {
	if a == nil || a.may(role, tenant, namespace, acts...) {
		return nil
	}
	ns := tenant + "/" + namespace
	hint := make([]string, len(acts))
	for i, act := range acts {
		hint[i] = Grant{Role: role, Tenant: tenant, Namespace: namespace, Actions: []Action{act}}.String()
	}
	what := string(acts[0])
	if len(acts) > 1 {
		what = "look up topics (it needs produce or consume)"
	}
	return fmt.Errorf("%w: role %q may not %s on namespace %s: grant %s, or use a role that may",
		errAuthorization, role, what, ns, strings.Join(hint, " or "))
}

// checkSuperuser returns why role may not administer tenants and
// namespaces, or nil.
func (a *authorizer) checkSuperuser(role, what string) error {
	if a == nil || a.superusers[role] {
		return nil
	}
	return fmt.Errorf("%w: role %q may not %s: only superuser roles may", errAuthorization, role, what)
}

// lookupActions are the actions of which one lets a role look a topic up.
var lookupActions = []Action{ActionProduce, ActionConsume}

// authorizeTopic returns why the connection's role may not take any of
// acts on the named topic's namespace, or nil. A name that does not parse
// is let through: the command's own handling refuses it with
// InvalidTopicName.
func (c *conn) authorizeTopic(topic string, acts ...Action) error {
	n, err := parseTopic(topic)
	if err != nil {
		return nil
	}
	return c.authorize(n.tenant, n.namespace, acts...)
}

func (c *conn) authorize(tenant, namespace string, acts ...Action) error {
	err := c.b.sec.authz.check(c.role, tenant, namespace, acts...)
	if err != nil {
		// pulsar-client-go drops the message of a refused lookup, so the
		// broker's log is where the cause can be read.
		c.log.Warn("refused", "reason", err)
	}
	return err
}

// refuseUnauthorized answers a request with CommandError
// AuthorizationError when err, the result of an authorize, is not nil.
func (c *conn) refuseUnauthorized(requestID uint64, err error) bool {
	if err == nil {
		return false
	}
	c.sendError(requestID, wire.ServerError_AuthorizationError, err)
	return true
}
