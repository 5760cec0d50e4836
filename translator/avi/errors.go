package avi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// APIError is an error answer of the controller.
type APIError struct {
	Status int
	Method string
	Path   string
	// Message is the body's "error" field, or the raw body when it is not JSON (the CSRF
	// 401 answers plain text under a JSON content type).
	Message string
	// ObjName is the body's "obj_name", set on some 403s.
	ObjName string
	RawBody []byte
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s %s: %d: %s", e.Method, e.Path, e.Status, msg)
}

// StatusOf returns the status of an APIError in err's chain, or 0.
func StatusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// IsNotFound reports a 404 answer.
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }

// IsAlreadyExists reports a 409 duplicate-name answer.
func IsAlreadyExists(err error) bool {
	return StatusOf(err) == http.StatusConflict && messageContains(err, "already exists")
}

// IsStale reports a 412 answer to a PUT whose _last_modified is no longer current.
func IsStale(err error) bool {
	return StatusOf(err) == http.StatusPreconditionFailed && messageContains(err, "Need to reload object data")
}

// IsReferred reports a 403 to a DELETE of an object something else still references.
func IsReferred(err error) bool {
	return StatusOf(err) == http.StatusForbidden && messageContains(err, "Cannot delete, object is referred by")
}

// IsInvalidCredentials reports a rejected login.
func IsInvalidCredentials(err error) bool {
	return StatusOf(err) == http.StatusUnauthorized && messageContains(err, "Invalid credentials")
}

func messageContains(err error, s string) bool {
	var ae *APIError
	return errors.As(err, &ae) && strings.Contains(ae.Message, s)
}

// Class is how the translator schedules the retry of a failed unit (spec avi-rest.md §7.2,
// avi-translation.md §10).
type Class string

// Retry classes.
const (
	// ClassFast retries with backoff from 1 s, doubling, capped at 60 s.
	ClassFast Class = "fast"
	// ClassSlow retries every 90 s: the cause is outside sctpguard and will not clear soon.
	ClassSlow Class = "slow"
	// ClassNone retries only when an input changes or at full sync.
	ClassNone Class = "none"
)

// configModels are the controller configuration objects sctpguard only references: when one
// is missing, an operator has to create it, so retrying fast is pointless.
var configModels = []string{"Cloud", "ServiceEngineGroup", "VrfContext", "Network", "Tenant", "NetworkProfile", "ApplicationProfile", "HealthMonitor"}

// MissingConfigObject returns the model named by an "object not found" answer about a
// controller configuration object (Cloud, VrfContext, a system profile...), or "".
func MissingConfigObject(err error) string {
	var ae *APIError
	if !errors.As(err, &ae) || (ae.Status != http.StatusBadRequest && ae.Status != http.StatusNotFound) {
		return ""
	}
	for _, m := range configModels {
		if strings.Contains(ae.Message, m+" object not found") {
			return m
		}
	}
	return ""
}

// Classify returns the retry class of an error from the client, per spec avi-rest.md §7.2.
// Errors that are not API errors (transport failures, timeouts) are slow.
func Classify(err error) Class {
	var ae *APIError
	if !errors.As(err, &ae) {
		return ClassSlow
	}
	msg := ae.Message
	switch s := ae.Status; {
	case s == http.StatusUnauthorized && strings.Contains(msg, "Invalid credentials"):
		return ClassSlow
	case s == http.StatusUnauthorized || s == 419:
		return ClassFast
	case s == http.StatusBadRequest && strings.Contains(msg, "No available free IPs"):
		return ClassSlow
	case MissingConfigObject(err) != "":
		return ClassSlow
	case s == http.StatusNotFound:
		return ClassFast
	case s == http.StatusForbidden && (strings.Contains(msg, "Configuration is disallowed during upgrade") ||
		strings.Contains(msg, "does not exist!") || strings.Contains(msg, "Cannot delete, object is referred by")):
		return ClassSlow
	case s == http.StatusRequestTimeout, s == http.StatusConflict && strings.Contains(msg, "already exists"),
		s == http.StatusPreconditionFailed, s >= 500:
		return ClassFast
	default:
		return ClassNone
	}
}
