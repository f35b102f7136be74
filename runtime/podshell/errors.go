package podshell

import "errors"

// Command-line errors; their text is the GNU tools' and bash's.
var (
	errInvalidMode    = errors.New("invalid mode")
	errInvalidOption  = errors.New("invalid option")
	errUnrecognized   = errors.New("unrecognized option")
	errMissingOperand = errors.New("missing operand")
	errNeedsArgument  = errors.New("option requires an argument")
)
