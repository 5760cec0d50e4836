# Diameter (RFC 6733) runs over SCTP in this network: a Service exposing the Diameter port
# over TCP or UDP is a mistake. Written with conftest's conventions; conftest and sctpguard
# both run it.
package sctpguard.diameter

diameter_port := 3868

deny contains {"msg": msg, "path": sprintf("spec.ports[%d].protocol", [i])} if {
	input.kind == "Service"
	some i, port in input.spec.ports
	port.port == diameter_port
	protocol := object.get(port, "protocol", "TCP")
	protocol != "SCTP"
	msg := sprintf("Diameter port %d is %s here; Diameter runs over SCTP in this network: set protocol: SCTP", [diameter_port, protocol])
}

# A team may still run a legacy TCP Diameter proxy if it says so.
exception contains rules if {
	input.metadata.annotations["sctpguard.io/diameter-over-tcp"] == "approved"
	rules := [""]
}
