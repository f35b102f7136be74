package broker

import (
	"fmt"
	"path/filepath"
	"sync"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/meshc/meshc/broker/internal/storage"
)

// defaultSchemaStrategy is Pulsar's broker default
// (schemaCompatibilityStrategy=FULL in broker.conf), for namespaces that
// set none (UNDEFINED).
const defaultSchemaStrategy = utils.SchemaCompatibilityStrategyFull

// schemaPolicies holds the schema compatibility strategy each namespace
// sets through the admin API, kept in the data directory when there is one.
type schemaPolicies struct {
	mu     sync.Mutex
	loaded bool
	byNS   map[string]utils.SchemaCompatibilityStrategy
}

func (b *Broker) schemaPolicyFile() string {
	if b.cfg.DataDir == "" {
		return ""
	}
	return filepath.Join(b.cfg.DataDir, "schema-compatibility.json")
}

// loadSchemaPoliciesLocked reads the stored strategies once; p.mu is held.
func (b *Broker) loadSchemaPoliciesLocked() {
	p := &b.schemaPolicy
	if p.loaded {
		return
	}
	p.loaded = true
	p.byNS = map[string]utils.SchemaCompatibilityStrategy{}
	if f := b.schemaPolicyFile(); f != "" {
		if _, err := storage.ReadJSON(f, &p.byNS); err != nil {
			b.log.Error("schema compatibility strategies unreadable; namespaces use the default", "file", f, "error", err)
		}
	}
}

// namespaceSchemaStrategy is what a namespace sets: UNDEFINED when nothing.
func (b *Broker) namespaceSchemaStrategy(ns string) utils.SchemaCompatibilityStrategy {
	p := &b.schemaPolicy
	p.mu.Lock()
	defer p.mu.Unlock()
	b.loadSchemaPoliciesLocked()
	if s, ok := p.byNS[ns]; ok {
		return s
	}
	return utils.SchemaCompatibilityStrategyUndefined
}

// schemaStrategy is the strategy that applies in a namespace.
func (b *Broker) schemaStrategy(ns string) utils.SchemaCompatibilityStrategy {
	if s := b.namespaceSchemaStrategy(ns); s != utils.SchemaCompatibilityStrategyUndefined {
		return s
	}
	return defaultSchemaStrategy
}

// setSchemaStrategy sets a namespace's strategy; UNDEFINED goes back to
// the default.
func (b *Broker) setSchemaStrategy(ns string, s utils.SchemaCompatibilityStrategy) error {
	p := &b.schemaPolicy
	p.mu.Lock()
	defer p.mu.Unlock()
	b.loadSchemaPoliciesLocked()
	old, had := p.byNS[ns]
	if s == utils.SchemaCompatibilityStrategyUndefined {
		delete(p.byNS, ns)
	} else {
		p.byNS[ns] = s
	}
	if f := b.schemaPolicyFile(); f != "" {
		if err := storage.WriteJSON(f, p.byNS); err != nil {
			if had {
				p.byNS[ns] = old
			} else {
				delete(p.byNS, ns)
			}
			return fmt.Errorf("storing the schema compatibility strategy: %w", err)
		}
	}
	return nil
}
