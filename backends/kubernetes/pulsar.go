package kubernetes

import (
	corev1 "k8s.io/api/core/v1"
	"maps"
	"slices"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/planner/plan"
)

// pulsarDir holds the files instances read to reach a secured Pulsar, each
// projected from the Kubernetes Secret its reference names, read-only; a
// folder of its own, not one inside another volume's.
const pulsarDir = "/var/run/secrets/meshc/pulsar"

// pulsarVolume names the volume of pulsarDir.
const pulsarVolume = "pulsar"

// pulsarAccess is what every pod gets for the mesh's pulsar block: the
// environment that names the files and settings (never a secret's value),
// and the projected volume of the files, nil without any.
func pulsarAccess(p *plan.Plan, pulsarURL string) ([]corev1.EnvVar, *corev1.Volume) {
	conn, files := backends.PulsarConnection(p, pulsarURL, pulsarDir)
	env := envVars(backends.EnvMap(conn))
	if len(files) == 0 {
		return env, nil
	}
	return env, &corev1.Volume{Name: pulsarVolume, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: secretProjections(files),
	}}}
}

// secretProjections project each file from its Secret, one source per
// Secret, in the order of the files.
func secretProjections(files []backends.PulsarFile) []corev1.VolumeProjection {
	var out []corev1.VolumeProjection
	at := map[string]int{}
	for _, f := range files {
		name := SecretName(f.Secret.Path)
		i, ok := at[name]
		if !ok {
			i = len(out)
			at[name] = i
			out = append(out, corev1.VolumeProjection{Secret: &corev1.SecretProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: name},
			}})
		}
		s := out[i].Secret
		s.Items = append(s.Items, corev1.KeyToPath{Key: f.Secret.Key, Path: f.Name})
	}
	return out
}

// envVars are the variables of m, sorted by name.
func envVars(m map[string]string) []corev1.EnvVar {
	var env []corev1.EnvVar
	for _, k := range slices.Sorted(maps.Keys(m)) {
		env = append(env, corev1.EnvVar{Name: k, Value: m[k]})
	}
	return env
}
