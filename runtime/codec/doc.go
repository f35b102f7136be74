// Package codec turns message payloads into Go values and back, as a
// topic's schema says, and refuses payloads that do not fit the schema, so
// that a bad message goes to its dead-letter path instead of into a function.
package codec
