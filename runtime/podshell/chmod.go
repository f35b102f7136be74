package podshell

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Mode bits as chmod(2) takes them; fs.FileMode keeps the set-ID and
// sticky bits elsewhere.
const (
	modeSetUID = 0o4000
	modeSetGID = 0o2000
	modeSticky = 0o1000
	modeUser   = 0o700
	modeGroup  = 0o070
	modeOther  = 0o007
	modeRead   = 0o444
	modeWrite  = 0o222
	modeExec   = 0o111
	modePerm   = 0o777
	modeAll    = 0o7777

	// octalDigitsForSetID is how many digits an octal mode needs before it
	// may clear a directory's set-ID bits: GNU chmod keeps them for 755,
	// not for 00755.
	octalDigitsForSetID = 5
)

// changeKind says where the bits of a change come from.
type changeKind uint8

const (
	listedBits changeKind = iota // the permissions listed: u+rw
	copiedBits                   // another class's current ones: g=u
	execIfAny                    // X: execute, for a directory or a file someone may execute
)

// A modeChange is one operator of a mode: the +x of u+x, or the whole of an
// octal mode, which sets every bit. These and their application are
// gnulib's mode_compile and mode_adjust, which GNU chmod uses.
type modeChange struct {
	op        byte // '+', '-' or '='
	kind      changeKind
	affected  uint32 // the bits of the classes named (ugoa); none: all, less the umask
	value     uint32
	mentioned uint32 // bits named outright: only those change a directory's set-ID bits
}

type modeChanges []modeChange

// parseMode parses a chmod mode: octal, such as 755, or symbolic, such as
// u+x,go-w.
func parseMode(s string) (modeChanges, error) {
	if s != "" && '0' <= s[0] && s[0] <= '7' {
		return parseOctalMode(s)
	}
	return parseSymbolicMode(s)
}

func parseOctalMode(s string) (modeChanges, error) {
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > modeAll {
		return nil, errInvalidMode
	}
	mode := uint32(v)
	mentioned := uint32(modeAll)
	if len(s) < octalDigitsForSetID {
		mentioned = mode&(modeSetUID|modeSetGID) | modeSticky | modePerm
	}
	return modeChanges{{op: '=', affected: modeAll, value: mode, mentioned: mentioned}}, nil
}

// modeParser reads [ugoa]*([-+=]([rwxXst]*|[ugo]))+ clauses, joined by commas.
type modeParser struct {
	s string
	i int
}

func parseSymbolicMode(s string) (modeChanges, error) {
	p := &modeParser{s: s}
	var changes modeChanges
	for {
		affected := p.who()
		if !p.atOp() {
			return nil, errInvalidMode
		}
		for p.atOp() {
			c := modeChange{op: p.s[p.i], affected: affected}
			p.i++
			c.kind, c.value = p.perms()
			c.mentioned = c.value
			if affected != 0 {
				c.mentioned &= affected
			}
			changes = append(changes, c)
		}
		if p.i == len(s) {
			return changes, nil
		}
		if s[p.i] != ',' {
			return nil, errInvalidMode
		}
		p.i++
	}
}

func (p *modeParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *modeParser) atOp() bool {
	c := p.peek()
	return c == '+' || c == '-' || c == '='
}

func (p *modeParser) who() uint32 {
	var affected uint32
	for ; ; p.i++ {
		switch p.peek() {
		case 'u':
			affected |= modeSetUID | modeUser
		case 'g':
			affected |= modeSetGID | modeGroup
		case 'o':
			affected |= modeSticky | modeOther
		case 'a':
			affected |= modeAll
		default:
			return affected
		}
	}
}

func (p *modeParser) perms() (changeKind, uint32) {
	switch p.peek() {
	case 'u':
		p.i++
		return copiedBits, modeUser
	case 'g':
		p.i++
		return copiedBits, modeGroup
	case 'o':
		p.i++
		return copiedBits, modeOther
	}
	kind, value := listedBits, uint32(0)
	for ; ; p.i++ {
		switch p.peek() {
		case 'r':
			value |= modeRead
		case 'w':
			value |= modeWrite
		case 'x':
			value |= modeExec
		case 'X':
			kind = execIfAny
		case 's':
			value |= modeSetUID | modeSetGID
		case 't':
			value |= modeSticky
		default:
			return kind, value
		}
	}
}

// apply is the mode that a file of mode old becomes.
func (cs modeChanges) apply(old uint32, dir bool, umask uint32) uint32 {
	mode := old & modeAll
	for _, c := range cs {
		mode = c.apply(mode, dir, umask)
	}
	return mode
}

func (c modeChange) apply(mode uint32, dir bool, umask uint32) uint32 {
	var omit uint32
	if dir {
		omit = (modeSetUID | modeSetGID) &^ c.mentioned
	}
	value := c.value
	switch c.kind {
	case copiedBits:
		value = spread(value & mode)
	case execIfAny:
		if dir || mode&modeExec != 0 {
			value |= modeExec
		}
	}
	// POSIX: with no class named, the umask's bits stay as they are.
	mask := ^umask
	if c.affected != 0 {
		mask = c.affected
	}
	value &= mask &^ omit
	switch c.op {
	case '=':
		preserved := omit
		if c.affected != 0 {
			preserved |= ^c.affected
		}
		return mode&preserved | value
	case '+':
		return mode | value
	}
	return mode &^ value
}

// spread gives every class the permissions that any class in v has.
func spread(v uint32) uint32 {
	var all uint32
	for _, bits := range []uint32{modeRead, modeWrite, modeExec} {
		if v&bits != 0 {
			all |= bits
		}
	}
	return all
}

// rawMode is m's permission, set-ID and sticky bits as chmod(2) has them.
func rawMode(m fs.FileMode) uint32 {
	raw := uint32(m.Perm())
	for _, b := range modeBits {
		if m&b.file != 0 {
			raw |= b.raw
		}
	}
	return raw
}

// fileMode is the inverse of rawMode.
func fileMode(raw uint32) fs.FileMode {
	m := fs.FileMode(raw & modePerm)
	for _, b := range modeBits {
		if raw&b.raw != 0 {
			m |= b.file
		}
	}
	return m
}

var modeBits = []struct {
	raw  uint32
	file fs.FileMode
}{{modeSetUID, fs.ModeSetuid}, {modeSetGID, fs.ModeSetgid}, {modeSticky, fs.ModeSticky}}

// chmodArgs is chmod's command line: [-Rf] MODE FILE... or [-Rf] -MODE FILE...
type chmodArgs struct {
	mode       string
	fromOption bool // the mode came as an option, -w: tell if the umask kept bits
	recursive  bool
	quiet      bool
	files      []string
}

// modeOptionChars are the characters after a "-" that make the argument a
// mode (chmod -w FILE), not options; "-" is not one, as GNU's getopt keeps
// "--" for long options.
const modeOptionChars = "rwxXstugoa,+=01234567"

func parseChmodArgs(args []string) (chmodArgs, error) {
	var ca chmodArgs
	var modes, operands []string
	options := true
	for _, a := range args {
		switch {
		case !options || len(a) < 2 || a[0] != '-':
			operands = append(operands, a)
		case a == "--":
			options = false
		case strings.IndexByte(modeOptionChars, a[1]) >= 0:
			modes = append(modes, a)
		default:
			if err := ca.option(a); err != nil {
				return ca, err
			}
		}
	}
	if len(modes) > 0 {
		ca.mode, ca.fromOption = strings.Join(modes, ","), true
	} else if len(operands) > 0 {
		ca.mode, operands = operands[0], operands[1:]
	}
	ca.files = operands
	switch {
	case ca.mode == "" && len(operands) == 0:
		return ca, errMissingOperand
	case len(operands) == 0:
		return ca, fmt.Errorf("%w after '%s'", errMissingOperand, ca.mode)
	}
	return ca, nil
}

func (ca *chmodArgs) option(a string) error {
	switch a {
	case "--recursive":
		ca.recursive = true
		return nil
	case "--silent", "--quiet":
		ca.quiet = true
		return nil
	}
	if strings.HasPrefix(a, "--") {
		return fmt.Errorf("%w '%s'", errUnrecognized, a)
	}
	for _, c := range a[1:] {
		switch c {
		case 'R':
			ca.recursive = true
		case 'f':
			ca.quiet = true
		default:
			return fmt.Errorf("%w -- '%c'", errInvalidOption, c)
		}
	}
	return nil
}

// A chmodder changes the modes of chmod's operands.
type chmodder struct {
	p       *proc
	args    chmodArgs
	changes modeChanges
	umask   uint32
	status  int
}

func runChmod(p *proc) int {
	ca, err := parseChmodArgs(p.args)
	if err != nil {
		p.usage(err)
		return exitFailure
	}
	changes, err := parseMode(ca.mode)
	if err != nil {
		p.usage(fmt.Errorf("%w: '%s'", err, ca.mode))
		return exitFailure
	}
	c := &chmodder{p: p, args: ca, changes: changes, umask: umask()}
	for _, name := range ca.files {
		c.operand(name)
	}
	return c.status
}

func (c *chmodder) fail(format string, a ...any) {
	c.status = exitFailure
	if !c.args.quiet {
		c.p.errorf(format, a...)
	}
}

func (c *chmodder) operand(name string) {
	path := c.p.path(name)
	if c.args.recursive {
		c.walk(name, path)
		return
	}
	info, err := os.Stat(path) // chmod(2) follows a link; so does the mode it starts from
	if err != nil {
		c.fail("cannot access '%s': %s", name, errText(err))
		return
	}
	c.chmod(name, path, info)
}

// walk changes a tree, leaving symbolic links (and what they point to)
// alone, as chmod -R does by default.
func (c *chmodder) walk(name, root string) {
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		shown := name
		if rel, _ := filepath.Rel(root, path); rel != "." {
			shown = strings.TrimSuffix(name, "/") + "/" + rel
		}
		var info fs.FileInfo
		if err == nil {
			if d.Type()&fs.ModeSymlink != 0 {
				return nil
			}
			info, err = d.Info()
		}
		if err != nil {
			c.fail("cannot access '%s': %s", shown, errText(err))
			return nil
		}
		c.chmod(shown, path, info)
		return nil
	})
}

func (c *chmodder) chmod(name, path string, info fs.FileInfo) {
	old := rawMode(info.Mode())
	mode := c.changes.apply(old, info.IsDir(), c.umask)
	// Like GNU chmod, change even when nothing would: a file one may not
	// change is an error to report.
	if err := os.Chmod(path, fileMode(mode)); err != nil {
		c.fail("changing permissions of '%s': %s", name, errText(err))
		return
	}
	if naive := c.changes.apply(old, info.IsDir(), 0); c.args.fromOption && mode&^naive != 0 {
		c.fail("%s: new permissions are %s, not %s", name, permString(mode), permString(naive))
	}
}

// permString is a mode as ls shows it, without the file type: rwxr-xr-x.
func permString(raw uint32) string {
	return modeString(fileMode(raw))[1:]
}
