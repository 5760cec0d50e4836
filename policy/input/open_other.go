//go:build !unix

package input

// nonBlock: elsewhere, the Stat before opening is the only guard against named pipes.
const nonBlock = 0
