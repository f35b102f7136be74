// Package syncbuf is a buffer that goroutines may write to while another
// reads it: for tests that collect the logs or output of running code.
package syncbuf
