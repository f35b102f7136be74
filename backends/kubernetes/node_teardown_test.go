//go:build e2e

package kubernetes

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Tearing a node down leaves nothing behind: no process, mount, cgroup,
// network link, file outside the log folder, or changed kernel tunable. What
// a node makes is found from its folder alone (namesFor), so that a node
// whose test was killed before its cleanups ran can be swept up by the next
// one.

// teardown stops the components, newest first, removes the containers
// while containerd still runs, then sweeps up what is left, and fails the
// test if anything survives.
func (n *node) teardown(t *testing.T) {
	begin := time.Now()
	if n.exited() == nil && len(n.procs) > 0 {
		n.logMemory(t)
	}
	for i := len(n.procs) - 1; i >= 0; i-- {
		p := n.procs[i]
		if p.name == "containerd" && !p.exited() {
			n.removeContainers(t)
		}
		p.stop()
	}
	left := sweep(n.dir)
	if len(left) > 0 {
		t.Errorf("teardown left behind: %s", strings.Join(left, "; "))
	}
	if t.Failed() || os.Getenv(keepLogsEnv) != "" {
		t.Logf("the node's logs are kept in %s", n.logDir)
	} else {
		os.RemoveAll(n.logDir)
	}
	t.Logf("node torn down in %s", since(begin))
}

// removeContainers kills every task and removes every container, the pod
// sandboxes among them, so that their shims exit and their mounts go. The
// kubelet is gone by now and will not restart them.
func (n *node) removeContainers(t *testing.T) {
	n.ctrRemove(t, "tasks", "rm", "--force")
	n.ctrRemove(t, "containers", "rm")
}

// ctrRemove removes every object of a kind, a few times over: containerd's
// CRI plugin deletes the tasks it sees exit on its own, and ctr fails on
// those it deleted first.
func (n *node) ctrRemove(t *testing.T, kind string, rm ...string) {
	var msg string
	for range 3 {
		out, err := n.ctr(kind, "ls", "-q")
		ids := strings.Fields(string(out))
		if err != nil || len(ids) == 0 {
			return
		}
		out, err = n.ctr(slices.Concat([]string{kind}, rm, ids)...)
		if err == nil {
			return
		}
		msg = fmt.Sprintf("ctr %s %s: %v\n%s", kind, strings.Join(rm, " "), err, out)
	}
	t.Logf("%s", msg)
}

// sweep removes whatever the node in dir left: processes naming the
// folder (components, shims) and those in its cgroups (pods), mounts under
// it, its bridge, its cgroups, kubelet and CNI files outside it, the kernel
// tunables the kubelet changed, then the folder. It returns what it could
// not remove.
func sweep(dir string) []string {
	names := namesFor(dir)
	killAll(referencingPIDs(dir))
	killAll(cgroupPIDs(names.cgroupRoot))
	unmountUnder(dir)
	if _, err := net.InterfaceByName(names.bridge); err == nil {
		exec.Command("ip", "link", "delete", names.bridge).Run()
	}
	removeCgroups(names.cgroupRoot)
	restoreSysctls()
	removeHostFiles(dir, names.network)
	os.RemoveAll(dir)
	return leftovers(dir, names)
}

// leftovers lists what of the node in dir is still there.
func leftovers(dir string, names nodeNames) []string {
	var left []string
	for _, pid := range slices.Concat(referencingPIDs(dir), cgroupPIDs(names.cgroupRoot)) {
		left = append(left, fmt.Sprintf("process %d (%s)", pid, cmdline(pid)))
	}
	for _, m := range mountsUnder(dir) {
		left = append(left, "mount "+m)
	}
	if _, err := net.InterfaceByName(names.bridge); err == nil {
		left = append(left, "link "+names.bridge)
	}
	for _, c := range cgroupDirs(names.cgroupRoot) {
		left = append(left, "cgroup "+c)
	}
	if _, err := os.Stat(dir); err == nil {
		left = append(left, "folder "+dir)
	}
	return left
}

// sweepStaleNodes sweeps up the nodes of tests that died before their
// cleanups ran: those whose owner process is gone.
func sweepStaleNodes(t *testing.T) {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), nodeDirPrefix+"*"))
	for _, dir := range dirs {
		if ownerAlive(dir) {
			continue
		}
		if left := sweep(dir); len(left) > 0 {
			t.Fatalf("a node a killed test left in %s cannot be swept up: %s; remove them by hand",
				dir, strings.Join(left, "; "))
		}
		t.Logf("swept up the node a killed test left in %s", dir)
	}
}

// writeOwner records which process owns a node's folder: its PID and
// start time, as PIDs are reused.
func writeOwner(dir string) error {
	return os.WriteFile(filepath.Join(dir, "owner"), []byte(processID(os.Getpid())), 0o644)
}

// ownerAlive says whether the process that made dir still runs. A folder
// without an owner file is one being made, or not a node's: left alone.
func ownerAlive(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "owner"))
	if err != nil {
		return true
	}
	pid, _, _ := strings.Cut(string(data), " ")
	p, err := strconv.Atoi(pid)
	return err == nil && processID(p) == string(data)
}

// processID is "PID STARTTIME", or "" if there is no such process.
func processID(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// Fields after the command, which is in parentheses: state is the 3rd
	// field of the line, starttime the 22nd.
	i := strings.LastIndexByte(string(data), ')')
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 {
		return ""
	}
	return fmt.Sprintf("%d %s", pid, f[19])
}

// referencingPIDs are the live processes with an argument in dir:
// the node's components and containerd's shims.
func referencingPIDs(dir string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || zombie(pid) {
			continue
		}
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		for _, arg := range strings.Split(string(data), "\x00") {
			if arg == dir || strings.Contains(arg, dir+"/") {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

func zombie(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(data), ')')
	return i < 0 || strings.HasPrefix(string(data[i+1:]), " Z")
}

func cmdline(pid int) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(data), "\x00", " "))
}

func rssKB(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb
		}
	}
	return 0
}

// killAll kills the processes and waits until they are gone.
func killAll(pids []int) {
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(goneTimeout)
	for _, pid := range pids {
		for !zombie(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

type mount struct{ point, fstype string }

// mounts reads this mount namespace's mounts from /proc/self/mountinfo.
func mounts() []mount {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	var ms []mount
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		sep := slices.Index(f, "-")
		if len(f) < 5 || sep < 0 || sep+1 >= len(f) {
			continue
		}
		ms = append(ms, mount{point: unescapeMount(f[4]), fstype: f[sep+1]})
	}
	return ms
}

// unescapeMount undoes the octal escapes (\040 for a space) of mountinfo.
func unescapeMount(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func mountsUnder(dir string) []string {
	var under []string
	for _, m := range mounts() {
		if m.point == dir || strings.HasPrefix(m.point, dir+"/") {
			under = append(under, m.point)
		}
	}
	return under
}

// unmountUnder detaches every mount under dir, deepest first, a few rounds
// over as mounts can be stacked (the kubelet bind-mounts its root folder
// onto itself).
func unmountUnder(dir string) {
	for range 5 {
		ms := mountsUnder(dir)
		if len(ms) == 0 {
			return
		}
		slices.SortFunc(ms, func(a, b string) int { return len(b) - len(a) })
		for _, m := range ms {
			syscall.Unmount(m, syscall.MNT_DETACH)
		}
	}
}

// cgroupHierarchies are the mounted cgroup hierarchies: each v1
// controller's and, in hybrid mode, the v2 one.
func cgroupHierarchies() []string {
	var hs []string
	for _, m := range mounts() {
		if m.fstype == "cgroup" || m.fstype == "cgroup2" {
			hs = append(hs, m.point)
		}
	}
	return hs
}

// makeCgroupRoot creates the kubelet's cgroup root in every hierarchy: the
// kubelet refuses a root that does not exist.
func makeCgroupRoot(root string) error {
	for _, h := range cgroupHierarchies() {
		dir := filepath.Join(h, root)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		// A new cpuset cgroup has no CPUs or memory nodes: no process could
		// join it until they are copied from its parent.
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if v, err := os.ReadFile(filepath.Join(h, f)); err == nil {
				if err := os.WriteFile(filepath.Join(dir, f), v, 0o644); err != nil {
					return fmt.Errorf("%s: %w", filepath.Join(dir, f), err)
				}
			}
		}
	}
	return nil
}

// cgroupDirs are the cgroups under root in every hierarchy, children
// before their parents.
func cgroupDirs(root string) []string {
	var dirs []string
	for _, h := range cgroupHierarchies() {
		filepath.WalkDir(filepath.Join(h, root), func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
	}
	slices.Reverse(dirs)
	return dirs
}

func cgroupPIDs(root string) []int {
	seen := map[int]bool{}
	var pids []int
	for _, dir := range cgroupDirs(root) {
		data, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil && !seen[pid] && !zombie(pid) {
				seen[pid] = true
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// removeCgroups removes the cgroups under root, retrying while the kernel
// still counts processes that were just killed.
func removeCgroups(root string) {
	deadline := time.Now().Add(goneTimeout)
	for {
		dirs := cgroupDirs(root)
		for _, d := range dirs {
			syscall.Rmdir(d)
		}
		if len(cgroupDirs(root)) == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kubeletSysctls are the kernel tunables the kubelet sets at start.
var kubeletSysctls = []string{
	"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes",
}

// sysctlsFile keeps the machine's values of kubeletSysctls while nodes
// run: one file for all of them, as a node started while another runs sees
// that one's kubelet's values. In /run, so a reboot, which resets the
// values, forgets it too.
const sysctlsFile = "/run/meshc-e2e-sysctls"

// saveSysctls records the machine's values of kubeletSysctls, unless
// another node's kubelet already changed them and they are on record.
func saveSysctls() error {
	if _, err := os.Stat(sysctlsFile); err == nil {
		return nil
	}
	var b strings.Builder
	for _, s := range kubeletSysctls {
		v, err := os.ReadFile(filepath.Join("/proc/sys", s))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s=%s\n", s, strings.TrimSpace(string(v)))
	}
	return os.WriteFile(sysctlsFile, []byte(b.String()), 0o644)
}

// restoreSysctls writes back what saveSysctls recorded once no kubelet
// runs any more.
func restoreSysctls() {
	data, err := os.ReadFile(sysctlsFile)
	if err != nil || running("kubelet") {
		return
	}
	for _, line := range strings.Split(string(data), "\n") {
		s, v, ok := strings.Cut(line, "=")
		if ok && slices.Contains(kubeletSysctls, s) {
			os.WriteFile(filepath.Join("/proc/sys", s), []byte(v), 0o644)
		}
	}
	os.Remove(sysctlsFile)
}

// removeHostFiles removes what the node wrote outside its folder:
// libcni's cache of results for the node's network, the kubelet's links to
// container logs and, unless another kubelet or containerd runs, what they
// make in fixed places whatever their configuration: the kubelet's device
// plugin socket and /var/log/containers, and containerd 1.6's folder for
// its shims' sockets, /run/containerd/s (with the node's own sockets in it).
func removeHostFiles(dir, network string) {
	removeCNIResults(dir, network)
	removeShimSockets(dir)
	links, _ := filepath.Glob("/var/log/containers/*")
	for _, l := range links {
		if target, err := os.Readlink(l); err == nil && strings.HasPrefix(target, dir+"/") {
			os.Remove(l)
		}
	}
	// Folders go only when empty: a machine's own kubelet or containerd
	// keeps its own.
	if !running("kubelet") {
		os.Remove("/var/lib/kubelet/device-plugins/kubelet.sock")
		removeEmpty("/var/lib/kubelet/device-plugins", "/var/lib/kubelet", "/var/log/containers")
	}
	if !running("containerd") {
		removeEmpty("/run/containerd/s", "/run/containerd")
	}
}

// removeCNIResults removes libcni's cache of the results of adding the
// node's pods to its network and to containerd's "cni-loopback" one: a
// sandbox removed with ctr is not taken out of them. The files are named
// NETWORK-SANDBOX-INTERFACE.
func removeCNIResults(dir, network string) {
	const results = "/var/lib/cni/results"
	patterns := []string{network + "-*"}
	for _, id := range containerIDs(dir) {
		patterns = append(patterns, "cni-loopback-"+id+"-*")
	}
	for _, p := range patterns {
		files, _ := filepath.Glob(filepath.Join(results, p))
		for _, f := range files {
			os.Remove(f)
		}
	}
	removeEmpty(results, filepath.Dir(results))
}

// removeShimSockets removes the sockets of the node's shims, which a shim
// that was killed leaves behind. containerd 1.6 puts them all in
// /run/containerd/s, whatever its configuration, named after the SHA-256 of
// CONTAINERD-SOCKET/NAMESPACE/ID.
func removeShimSockets(dir string) {
	sock := filepath.Join(dir, "containerd", "containerd.sock")
	for _, id := range containerIDs(dir) {
		sum := sha256.Sum256([]byte(filepath.Join(sock, criNamespace, id)))
		os.Remove(fmt.Sprintf("/run/containerd/s/%x", sum))
	}
}

// containerIDs are the IDs of the containers and pod sandboxes the node's
// containerd has run, read from its folders.
func containerIDs(dir string) []string {
	var ids []string
	for _, d := range []string{
		"containerd/state/io.containerd.runtime.v2.task/" + criNamespace,
		"containerd/state/io.containerd.grpc.v1.cri/sandboxes",
		"containerd/root/io.containerd.grpc.v1.cri/sandboxes",
	} {
		entries, _ := os.ReadDir(filepath.Join(dir, d))
		for _, e := range entries {
			ids = append(ids, e.Name())
		}
	}
	return ids
}

func removeEmpty(dirs ...string) {
	for _, d := range dirs {
		os.Remove(d)
	}
}

// running says whether a process called comm runs on the machine.
func running(comm string) bool {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || zombie(pid) {
			continue
		}
		if c, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(c)) == comm {
			return true
		}
	}
	return false
}
