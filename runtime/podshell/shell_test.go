package podshell

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// result is what a tool run in this process did.
type result struct {
	Out    string
	Err    string
	Status int
}

func runTool(t *testing.T, name, stdin string, args ...string) result {
	t.Helper()
	var out, errs bytes.Buffer
	status := Run(name, args, strings.NewReader(stdin), &out, &errs)
	return result{Out: out.String(), Err: errs.String(), Status: status}
}

func TestShell(t *testing.T) {
	// No command is on PATH: what runs is the shell's or this package's.
	t.Setenv("PATH", t.TempDir())
	script := filepath.Join(t.TempDir(), "script.sh")
	if err := os.WriteFile(script, []byte("echo file $0 $1 $#\nexit 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		env   map[string]string
		stdin string
		args  []string
		want  result
	}{
		{name: "variables", args: []string{"-c", `X=1; Y=$X$X; echo "$Y" ${Z:-none}`},
			want: result{Out: "11 none\n"}},
		{name: "shard id from the pod name", env: map[string]string{"POD_NAME": "fn-function-3"},
			args: []string{"-c", "SHARD_ID=${POD_NAME##*-} && echo shardId=${SHARD_ID}"},
			want: result{Out: "shardId=3\n"}},
		{name: "shard id from a dashed name", env: map[string]string{"POD_NAME": "my-fn-function-12"},
			args: []string{"-c", "echo ${POD_NAME##*-}"},
			want: result{Out: "12\n"}},
		{name: "&& stops at a failure", args: []string{"-c", "echo a && false && echo b"},
			want: result{Out: "a\n", Status: 1}},
		{name: "|| goes on after one", args: []string{"-c", "false || echo c"},
			want: result{Out: "c\n"}},
		{name: "operator's escaped JSON", env: map[string]string{"N": "3"},
			args: []string{"-c", `C={\"a\":\"b\",\"n\":${N}} && c=${C} && echo goFunctionConfigs="'${c}'"`},
			want: result{Out: `goFunctionConfigs='{"a":"b","n":3}'` + "\n"}},
		{name: "unquoted JSON stays one argument",
			args: []string{"-c", `C={\"a\":1,\"b\":[2,3]}; set -- ${C}; echo $# "$1"`},
			want: result{Out: `1 {"a":1,"b":[2,3]}` + "\n"}},
		{name: "escapes in case and redirections", env: map[string]string{"D": t.TempDir()},
			args: []string{"-c", `case \"x\" in '"x"') echo yes;; esac; echo hi >"$D"/x\ \"y\" && ls "$D"`},
			want: result{Out: "yes\nx \"y\"\n"}},
		{name: "positional parameters", args: []string{"-c", "echo $0 $1 $#", "name", "a", "b"},
			want: result{Out: "name a 2\n"}},
		{name: "exit status", args: []string{"-c", "exit 7"}, want: result{Status: 7}},
		{name: "last command's status", args: []string{"-c", "true; (exit 5)"}, want: result{Status: 5}},
		{name: "errexit", args: []string{"-e", "-c", "false; echo no"}, want: result{Status: 1}},
		{name: "pipefail", args: []string{"-o", "pipefail", "-c", "false | true"}, want: result{Status: 1}},
		{name: "command not found", args: []string{"-c", "echo\nnosuch-command"},
			want: result{Out: "\n", Err: "bash: line 2: nosuch-command: command not found\n", Status: 127}},
		{name: "exec not found", args: []string{"-c", "exec nosuch-command"},
			want: result{Err: "bash: line 1: nosuch-command: command not found\n", Status: 127}},
		{name: "exec into buffers runs the command", args: []string{"-c", "exec ls -d /; echo not here"},
			want: result{Out: "/\n"}},
		{name: "ls and chmod in this process", args: []string{"-c", "chmod 600 /nonexistent; ls /nonexistent"},
			want: result{Err: "chmod: cannot access '/nonexistent': No such file or directory\n" +
				"ls: cannot access '/nonexistent': No such file or directory\n", Status: 2}},
		{name: "script file", args: []string{script, "q"}, want: result{Out: "file " + script + " q 1\n", Status: 4}},
		{name: "missing script file", args: []string{"/nonexistent.sh"},
			want: result{Err: "bash: /nonexistent.sh: No such file or directory\n", Status: 127}},
		{name: "script on stdin", stdin: "echo $1 $#\n", args: []string{"-s", "z"}, want: result{Out: "z 1\n"}},
		{name: "bad option", args: []string{"-Z", "-c", "true"}, want: result{Err: "bash: invalid option: \"-Z\"\n", Status: 2}},
		{name: "bad long option", args: []string{"--nope"}, want: result{Err: "bash: --nope: invalid option\n", Status: 2}},
		{name: "-c without a script", args: []string{"-c"},
			want: result{Err: "bash: -c: option requires an argument\n", Status: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if diff := cmp.Diff(tt.want, runTool(t, "bash", tt.stdin, tt.args...)); diff != "" {
				t.Errorf("bash %q (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func TestShellSyntaxError(t *testing.T) {
	got := runTool(t, "sh", "", "-c", "echo ok; if then")
	if got.Status != exitTrouble || got.Out != "" || !strings.HasPrefix(got.Err, "sh: -c:1:10: ") {
		t.Errorf("sh -c with a syntax error = %+v, want status 2, no output, and the error's position", got)
	}
}

func TestTool(t *testing.T) {
	for name, want := range map[string]bool{
		"bash": true, "/bin/sh": true, "-bash": true, "/usr/local/bin/ls": true, "chmod": true,
		"meshrt": false, "cat": false, "": false, "ls.exe": false,
	} {
		if got := Tool(name); got != want {
			t.Errorf("Tool(%q) = %v, want %v", name, got, want)
		}
	}
}
