package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxPackageBytes is the largest function package the worker takes
// unless told otherwise: a meshrt binary is some tens of MiB.
const DefaultMaxPackageBytes = 256 << 20

// packageFetchTimeout bounds the download of a package given by URL.
const packageFetchTimeout = 2 * time.Minute

// packageDir is where the packages of fn's versions are kept.
func (w *Worker) packageDir(r *record) string {
	return filepath.Join(w.dir, "packages", r.Config.Tenant, r.Config.Namespace, r.Config.Name)
}

// storePackage copies body (a package of at most max bytes) to the
// function's folder as an executable named after version and file, and
// returns its path.
func storePackage(dir string, version int64, file string, body io.Reader, max int64) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("storing the package: %w", err)
	}
	name := filepath.Base(file)
	if name == "." || name == "/" || name == "" {
		name = "package"
	}
	path := filepath.Join(dir, strconv.FormatInt(version, 10)+"-"+name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return "", fmt.Errorf("storing the package: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(body, max+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		os.Remove(path)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", tooLarge(max)
		}
		return "", fail(errBadRequest, err, "Function Package could not be read")
	case n > max:
		os.Remove(path)
		return "", tooLarge(max)
	case n == 0:
		os.Remove(path)
		return "", fail(errBadRequest, nil, "Function Package is empty")
	}
	return path, nil
}

// openPackageURL opens the package a register or update names by URL, as
// Pulsar's worker takes them: file:// (a path on the worker's machine),
// http:// or https://.
func openPackageURL(ctx context.Context, raw string) (io.ReadCloser, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", fail(errBadRequest, err, "Function Package url is not valid")
	}
	switch u.Scheme {
	case "file":
		f, err := os.Open(u.Path)
		if err != nil {
			return nil, "", fail(errBadRequest, err, fmt.Sprintf("Encountered error when getting Function package from %s", raw))
		}
		return f, u.Path, nil
	case "http", "https":
		ctx, cancel := context.WithTimeout(ctx, packageFetchTimeout)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
		if err != nil {
			cancel()
			return nil, "", fail(errBadRequest, err, "Function Package url is not valid")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			return nil, "", fail(errBadRequest, err, fmt.Sprintf("Encountered error when getting Function package from %s", raw))
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			cancel()
			return nil, "", fail(errBadRequest, nil, fmt.Sprintf("Encountered error when getting Function package from %s: %s", raw, resp.Status))
		}
		return cancelOnClose{resp.Body, cancel}, u.Path, nil
	}
	return nil, "", fail(errBadRequest, nil, "Function Package url is not valid. supported url (http/https/file)")
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	defer c.cancel()
	return c.ReadCloser.Close()
}

// removeOtherPackages deletes the stored packages of a function but keep.
func removeOtherPackages(dir, keep string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if p := filepath.Join(dir, e.Name()); p != keep && !strings.HasSuffix(p, ".log") {
			os.Remove(p)
		}
	}
}

func tooLarge(max int64) error {
	return fail(errTooLarge, nil, fmt.Sprintf("Function Package is larger than the worker's limit of %d bytes; raise --functions-max-package-size or make the package smaller", max))
}
