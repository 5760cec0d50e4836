package probe

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResultWrite(t *testing.T) {
	ok := &Result{Schema: SchemaConnect, Target: "sctpservice:30102", Kernel: KernelStatus(kernelUp),
		Local: "10.128.0.5:40001", Remote: "172.30.12.7:30102", SetupMs: f(0.412),
		Messages: []Message{{Seq: 1, Bytes: 15, Echo: EchoOK, RTTMs: f(0.2)}, {Seq: 2, Bytes: 15, Echo: EchoOK, RTTMs: f(0.101)}, {Seq: 3, Bytes: 15, Echo: EchoOK, RTTMs: f(0.3)}}}
	ok.finish(ExitOK, "")
	noAnswer := &Result{Schema: SchemaConnect, Target: "10.0.0.9:30102", Kernel: KernelStatus(kernelUp),
		Remote: "10.0.0.9:30102", SetupMs: f(1.5), Messages: []Message{{Seq: 1, Bytes: 15, Echo: EchoMissing}}}
	noAnswer.finish(ExitNoAnswer, "no answer from 10.0.0.9:30102 to message 1 within 5s")

	tests := []struct {
		name   string
		res    *Result
		output string
		want   string
	}{
		{name: "ok as text", res: ok, output: OutputText, want: `probe connect sctpservice:30102
kernel: registered (/proc/net/sctp present, /sys/module/sctp present)
association: 10.128.0.5:40001 -> 172.30.12.7:30102, set up in 0.412 ms
message 1: 15 bytes, echoed in 0.200 ms
message 2: 15 bytes, echoed in 0.101 ms
message 3: 15 bytes, echoed in 0.300 ms
sent 3, echoed 3, rtt min/avg/max 0.101/0.200/0.300 ms
verdict: ok (exit code 0)
`},
		{name: "no answer as text", res: noAnswer, output: OutputText, want: `probe connect 10.0.0.9:30102
kernel: registered (/proc/net/sctp present, /sys/module/sctp present)
association: (unknown) -> 10.0.0.9:30102, set up in 1.500 ms
message 1: 15 bytes, no echo
sent 1, echoed 0
verdict: no-answer (exit code 6): no answer from 10.0.0.9:30102 to message 1 within 5s
`},
		{name: "ok as JSON", res: ok, output: OutputJSON, want: `{
  "schema": "sctpguard.io/probe-connect/v1",
  "verdict": "ok",
  "exitCode": 0,
  "error": "",
  "target": "sctpservice:30102",
  "kernel": {
    "state": "registered",
    "evidence": [
      "/proc/net/sctp present",
      "/sys/module/sctp present"
    ]
  },
  "local": "10.128.0.5:40001",
  "remote": "172.30.12.7:30102",
  "setupMs": 0.412,
  "sent": 3,
  "echoed": 3,
  "messages": [
    {
      "seq": 1,
      "bytes": 15,
      "echo": "ok",
      "rttMs": 0.2
    },
    {
      "seq": 2,
      "bytes": 15,
      "echo": "ok",
      "rttMs": 0.101
    },
    {
      "seq": 3,
      "bytes": 15,
      "echo": "ok",
      "rttMs": 0.3
    }
  ],
  "rttMs": {
    "min": 0.101,
    "avg": 0.2,
    "max": 0.3
  }
}
`},
		{name: "no answer as JSON", res: noAnswer, output: OutputJSON, want: `{
  "schema": "sctpguard.io/probe-connect/v1",
  "verdict": "no-answer",
  "exitCode": 6,
  "error": "no answer from 10.0.0.9:30102 to message 1 within 5s",
  "target": "10.0.0.9:30102",
  "kernel": {
    "state": "registered",
    "evidence": [
      "/proc/net/sctp present",
      "/sys/module/sctp present"
    ]
  },
  "local": "",
  "remote": "10.0.0.9:30102",
  "setupMs": 1.5,
  "sent": 1,
  "echoed": 0,
  "messages": [
    {
      "seq": 1,
      "bytes": 15,
      "echo": "missing",
      "rttMs": null
    }
  ],
  "rttMs": null
}
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.res.Write(&b, tt.output); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
