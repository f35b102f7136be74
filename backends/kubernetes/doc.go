// Package kubernetes turns a plan into Kubernetes manifests, in two
// flavours: plain (Deployments or StatefulSets, ConfigMaps, autoscalers,
// disruption budgets, a ServiceAccount and a kustomization.yaml) and
// functionmesh (a FunctionMesh custom resource for the StreamNative Function
// Mesh operator). The YAML is deterministic, with every string quoted.
package kubernetes
