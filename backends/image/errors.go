package image

import "errors"

var (
	// ErrPlatform is a platform images are not built for: not linux, or an
	// architecture Go does not build meshrt for.
	ErrPlatform = errors.New("unsupported platform")
	// ErrBinaryPlatform is a ready-made instance binary asked to serve a
	// platform it was not built for.
	ErrBinaryPlatform = errors.New("the binary is not built for this platform")
	// ErrNotLinuxBinary is a ready-made instance binary that is not a Linux
	// executable.
	ErrNotLinuxBinary = errors.New("not a Linux executable")
)
