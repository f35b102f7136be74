package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// RunInfo is what a running mesh tells the commands that control it. It is
// kept in RunDir as MESH.json while the mesh runs.
type RunInfo struct {
	Mesh      string `json:"mesh"`
	Source    string `json:"source,omitempty"` // the .mesh file
	Addr      string `json:"addr"`             // the control API, host:port
	PID       int    `json:"pid"`
	PulsarURL string `json:"pulsarUrl"`
	AdminURL  string `json:"adminUrl,omitempty"`
	LogDir    string `json:"logDir"`
}

// RunDir is where running meshes leave their RunInfo: $MESHC_RUN_DIR, else
// $XDG_RUNTIME_DIR/meshc, else meshc-UID in the temporary folder.
func RunDir() string {
	if d := os.Getenv("MESHC_RUN_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "meshc")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("meshc-%d", os.Getuid()))
}

func runFile(mesh string) string { return filepath.Join(RunDir(), mesh+".json") }

// Register writes info where Find looks, refusing when a live mesh of the
// same name is there; remove takes it away again.
func Register(info RunInfo) (remove func(), err error) {
	if old, err := read(runFile(info.Mesh)); err == nil && alive(old.PID) && old.PID != info.PID {
		return nil, fmt.Errorf("mesh %s already runs here (pid %d, control %s): stop it with meshc delete --mesh %s, or rename this one", info.Mesh, old.PID, old.Addr, info.Mesh)
	}
	if err := os.MkdirAll(RunDir(), 0o700); err != nil {
		return nil, fmt.Errorf("making the run folder: %w", err)
	}
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil, err
	}
	tmp := runFile(info.Mesh) + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, runFile(info.Mesh)); err != nil {
		return nil, err
	}
	return func() { os.Remove(runFile(info.Mesh)) }, nil
}

// Find returns the running mesh of that name, or the only one running
// when name is empty.
func Find(name string) (RunInfo, error) {
	if name != "" {
		info, err := read(runFile(name))
		if err != nil || !alive(info.PID) {
			return RunInfo{}, fmt.Errorf("no local mesh %s is running: start it with meshc run FILE", name)
		}
		return info, nil
	}
	matches, _ := filepath.Glob(filepath.Join(RunDir(), "*.json"))
	var live []RunInfo
	for _, f := range matches {
		if info, err := read(f); err == nil && alive(info.PID) {
			live = append(live, info)
		}
	}
	switch len(live) {
	case 0:
		return RunInfo{}, errors.New("no local mesh is running: start one with meshc run FILE")
	case 1:
		return live[0], nil
	}
	var names []string
	for _, l := range live {
		names = append(names, l.Mesh)
	}
	slices.Sort(names)
	return RunInfo{}, fmt.Errorf("several local meshes are running (%s): name one with --mesh", strings.Join(names, ", "))
}

func read(file string) (RunInfo, error) {
	var info RunInfo
	data, err := os.ReadFile(file)
	if err != nil {
		return info, err
	}
	return info, json.Unmarshal(data, &info)
}

// alive tells whether a process of that id exists.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
