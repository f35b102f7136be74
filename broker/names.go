package broker

import (
	"fmt"
	"strconv"
	"strings"
)

// topicName is a parsed topic name: domain://tenant/namespace/local.
type topicName struct {
	domain, tenant, namespace, local string
}

// parseTopic accepts the short forms Pulsar accepts ("t",
// "tenant/ns/t") and the full form.
func parseTopic(s string) (topicName, error) {
	n := topicName{domain: "persistent", tenant: "public", namespace: "default"}
	rest := s
	if d, r, ok := strings.Cut(s, "://"); ok {
		if d != "persistent" && d != "non-persistent" {
			return n, fmt.Errorf("topic %q: domain must be persistent or non-persistent", s)
		}
		n.domain, rest = d, r
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 1 && !strings.Contains(s, "://"):
		n.local = parts[0]
	case len(parts) >= 3:
		n.tenant, n.namespace, n.local = parts[0], parts[1], strings.Join(parts[2:], "/")
	default:
		return n, fmt.Errorf("topic %q: want domain://tenant/namespace/topic", s)
	}
	if n.tenant == "" || n.namespace == "" || n.local == "" {
		return n, fmt.Errorf("topic %q: tenant, namespace and topic must not be empty", s)
	}
	return n, nil
}

func (n topicName) String() string {
	return n.domain + "://" + n.tenant + "/" + n.namespace + "/" + n.local
}

const partitionSuffix = "-partition-"

// partition splits "x-partition-3" into the partitioned topic and 3.
func (n topicName) partition() (topicName, int, bool) {
	i := strings.LastIndex(n.local, partitionSuffix)
	if i < 0 {
		return n, -1, false
	}
	p, err := strconv.Atoi(n.local[i+len(partitionSuffix):])
	if err != nil || p < 0 {
		return n, -1, false
	}
	base := n
	base.local = n.local[:i]
	return base, p, true
}

func (n topicName) withPartition(i int) topicName {
	n.local = n.local + partitionSuffix + strconv.Itoa(i)
	return n
}
