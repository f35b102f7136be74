package lang

import "testing"

// TestQuickKind checks that the quick classification of literals agrees
// with the full one wherever it answers.
func TestQuickKind(t *testing.T) {
	for _, text := range []string{
		"0", "42", "-7", "123456789012345678", "1234567890123456789", "99999999999999999999",
		"30s", "500ms", "10us", "10µs", "3ns", "5m", "2h", "999999h", "9999999h", "99999999999h",
		"512Mi", "2Gi", "1Ki", "3Ti", "4Pi", "100M", "1K", "7G", "8T", "9P", "99999999999999999999Mi",
		"1m30s", "1.5Gi", "0.5", "-5s", "s", "Mi", "12x", "12Mb", "1e9", "",
	} {
		k, ok := quickKind(text)
		if !ok {
			continue
		}
		want, err := classifyAny(text)
		if err != nil || k != want {
			t.Errorf("quickKind(%q) = %s, want %s (error %v)", text, litNames[k], litNames[want], err)
		}
	}
}
