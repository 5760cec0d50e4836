package webhook

import (
	"github.com/sctpguard/sctpguard/policy"
)

// Environment is the EnvSource of the running webhook: the inventory, and the settings as the
// AKO settings follower (internal/akosettings) last applied them.
type Environment struct {
	// Inventory is what the webhooks judge with (consistent reads for the cross-object SCTP
	// rules).
	Inventory policy.Inventory
	// Settings returns the settings in force.
	Settings func() policy.Context
}

var _ EnvSource = (*Environment)(nil)

// Env implements EnvSource.
func (e *Environment) Env() policy.Env {
	var settings policy.Context
	if e.Settings != nil {
		settings = e.Settings()
	}
	return policy.Env{Context: settings, Inventory: e.Inventory}
}
