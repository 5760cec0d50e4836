// Package input reads the files sctpguard is given — manifests, policies, AKO values,
// rule configurations, test suites — under one set of rules, so that no input hangs or
// grows without bound: only regular files are read (a named pipe would block forever, a
// device such as /dev/zero would never end), each is refused over a size limit before it
// is read, a stream (standard input) is cut off at the same limit, and every error names
// the file.
package input
