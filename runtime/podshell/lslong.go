package podshell

import (
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/user"
	"strconv"
	"time"
)

const (
	blockSize = 512 // the unit of st_blocks
	kibi      = 1024

	// sixMonths is half of the mean Gregorian year: ls -l shows the time
	// of day of files modified since then, and the year of older ones.
	sixMonths   = 31556952 * time.Second / 2
	recentTime  = "Jan _2 15:04"
	olderTime   = "Jan _2  2006"
	humanPrefix = "KMGTPEZY"
)

// inode is what ls -l shows of a file beyond fs.FileInfo.
type inode struct {
	links    uint64
	uid, gid uint32
	blocks   int64 // of blockSize bytes
	major    uint32
	minor    uint32
}

// A longRow is a file's line of ls -l, in columns.
type longRow struct {
	mode, links, owner, group, size, time, name string
	major, minor                                string // a device's, in place of a size
}

// columnWidths are the widths that line up a listing's columns.
type columnWidths struct {
	links, owner, group, size, major, minor int
}

func widths(rows []longRow) columnWidths {
	var w columnWidths
	for _, r := range rows {
		w.links = max(w.links, len(r.links))
		w.owner = max(w.owner, len(r.owner))
		w.group = max(w.group, len(r.group))
		w.size = max(w.size, len(r.size))
		w.major = max(w.major, len(r.major))
		w.minor = max(w.minor, len(r.minor))
	}
	if w.major > 0 {
		w.size = max(w.size, w.major+len(", ")+w.minor)
	}
	return w
}

// sizeColumn is a row's size, or its device numbers lined up by part.
func (w columnWidths) sizeColumn(r longRow) string {
	if r.major == "" {
		return r.size
	}
	return fmt.Sprintf("%*s, %*s", w.major, r.major, w.minor, r.minor)
}

func (l *lister) row(f lsFile) longRow {
	m := f.info.Mode()
	in, ok := inodeOf(f.info)
	if !ok {
		in.links = 1
	}
	r := longRow{
		mode:  modeString(m),
		links: strconv.FormatUint(in.links, 10),
		owner: l.owners.user(in.uid),
		group: l.owners.group(in.gid),
		size:  l.size(f.info.Size()),
		time:  lsTime(f.info.ModTime(), l.now),
		name:  f.name,
	}
	if m&fs.ModeDevice != 0 {
		r.size = ""
		r.major, r.minor = strconv.FormatUint(uint64(in.major), 10), strconv.FormatUint(uint64(in.minor), 10)
	}
	if m&fs.ModeSymlink != 0 {
		if target, err := os.Readlink(f.path); err == nil {
			r.name += " -> " + target
		}
	}
	return r
}

func (l *lister) size(n int64) string {
	if l.opts.human {
		return humanSize(n)
	}
	return strconv.FormatInt(n, 10)
}

// modeString is a mode as ls -l shows it: -rwxr-xr-x.
func modeString(m fs.FileMode) string {
	const rwx = "rwxrwxrwx"
	b := []byte("-" + rwx)
	b[0] = typeChar(m)
	for i := range rwx {
		if m&(1<<(len(rwx)-1-i)) == 0 {
			b[1+i] = '-'
		}
	}
	special(b, 3, m&fs.ModeSetuid != 0, 's')
	special(b, 6, m&fs.ModeSetgid != 0, 's')
	special(b, 9, m&fs.ModeSticky != 0, 't')
	return string(b)
}

func typeChar(m fs.FileMode) byte {
	switch {
	case m&fs.ModeDir != 0:
		return 'd'
	case m&fs.ModeSymlink != 0:
		return 'l'
	case m&fs.ModeNamedPipe != 0:
		return 'p'
	case m&fs.ModeSocket != 0:
		return 's'
	case m&fs.ModeCharDevice != 0:
		return 'c'
	case m&fs.ModeDevice != 0:
		return 'b'
	case m&fs.ModeIrregular != 0:
		return '?'
	}
	return '-'
}

// special shows a set-ID or sticky bit in the execute column: lower case
// over an x, upper case where there is none.
func special(b []byte, i int, set bool, c byte) {
	switch {
	case !set:
	case b[i] == 'x':
		b[i] = c
	default:
		b[i] = c - 'a' + 'A'
	}
}

// lsTime is a modification time as ls -l shows it in the C locale.
func lsTime(t, now time.Time) string {
	if t.After(now.Add(-sixMonths)) && !t.After(now) {
		return t.Format(recentTime)
	}
	return t.Format(olderTime)
}

// humanSize is ls -h's size: at most three digits and a power of 1024,
// rounded up, with a decimal below ten: 999, 1.0K, 4.0K, 12K, 1.5M.
func humanSize(n int64) string {
	if n < kibi {
		return strconv.FormatInt(n, 10)
	}
	v := float64(n)
	unit := -1
	for v >= kibi && unit < len(humanPrefix)-1 {
		v /= kibi
		unit++
	}
	if v < 10 {
		if r := math.Ceil(v*10) / 10; r < 10 {
			return fmt.Sprintf("%.1f%c", r, humanPrefix[unit])
		}
	}
	r := math.Ceil(v)
	if r >= kibi && unit < len(humanPrefix)-1 {
		return fmt.Sprintf("1.0%c", humanPrefix[unit+1])
	}
	return fmt.Sprintf("%.0f%c", r, humanPrefix[unit])
}

// owners names user and group IDs from /etc/passwd and /etc/group; os/user
// reads them in Go when built without cgo, as images are. An ID without a
// name, as in an image with no /etc, shows as a number.
type owners struct {
	numeric bool
	users   map[uint32]string
	groups  map[uint32]string
}

func newOwners(numeric bool) *owners {
	return &owners{numeric: numeric, users: map[uint32]string{}, groups: map[uint32]string{}}
}

func (o *owners) user(id uint32) string {
	return o.name(o.users, id, func(s string) (string, error) {
		u, err := user.LookupId(s)
		if err != nil {
			return "", err
		}
		return u.Username, nil
	})
}

func (o *owners) group(id uint32) string {
	return o.name(o.groups, id, func(s string) (string, error) {
		g, err := user.LookupGroupId(s)
		if err != nil {
			return "", err
		}
		return g.Name, nil
	})
}

func (o *owners) name(cache map[uint32]string, id uint32, lookup func(string) (string, error)) string {
	s := strconv.FormatUint(uint64(id), 10)
	if o.numeric {
		return s
	}
	if name, ok := cache[id]; ok {
		return name
	}
	name, err := lookup(s)
	if err != nil {
		name = s
	}
	cache[id] = name
	return name
}
