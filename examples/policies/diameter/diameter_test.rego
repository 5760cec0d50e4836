package sctpguard.diameter_test

import data.sctpguard.diameter

service(ports) := {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hss", "namespace": "telco"}, "spec": {"ports": ports}}

test_diameter_over_tcp_is_denied if {
	msgs := diameter.deny with input as service([{"port": 3868, "protocol": "TCP"}])
	msgs == {{"msg": "Diameter port 3868 is TCP here; Diameter runs over SCTP in this network: set protocol: SCTP", "path": "spec.ports[0].protocol"}}
}

test_omitted_protocol_is_tcp if {
	count(diameter.deny) == 1 with input as service([{"name": "a", "port": 80, "protocol": "SCTP"}, {"name": "b", "port": 3868}])
}

test_diameter_over_sctp_is_fine if {
	count(diameter.deny) == 0 with input as service([{"port": 3868, "protocol": "SCTP"}])
}

test_other_ports_are_fine if {
	count(diameter.deny) == 0 with input as service([{"port": 8080, "protocol": "TCP"}])
}

test_approved_exception if {
	svc := object.union(service([{"port": 3868, "protocol": "TCP"}]), {"metadata": {"annotations": {"sctpguard.io/diameter-over-tcp": "approved"}}})
	diameter.exception == {[""]} with input as svc
}
