package check

import (
	"encoding/json"
	"io"

	"github.com/sctpguard/sctpguard/policy"
)

// SARIF 2.1.0, the format code-scanning tools (GitHub code scanning among them) ingest.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Results     []sarifResult     `json:"results"`
	Invocations []sarifInvocation `json:"invocations"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string        `json:"id"`
	ShortDescription     sarifText     `json:"shortDescription"`
	DefaultConfiguration sarifRuleConf `json:"defaultConfiguration"`
}

type sarifRuleConf struct {
	Level string `json:"level"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ExitCode                   int                 `json:"exitCode"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications"`
}

type sarifNotification struct {
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

func sarifLevel(a policy.Action) string {
	switch a {
	case policy.ActionDeny:
		return "error"
	case policy.ActionDryRun, policy.ActionException:
		return "note"
	}
	return "warning"
}

func writeSARIF(out io.Writer, version string, res *Result) error {
	ls := res.located()
	ids := ruleIDs(ls)
	index := map[string]int{}
	driver := sarifDriver{Name: "sctpguard", Version: version, InformationURI: "https://github.com/sctpguard/sctpguard", Rules: []sarifRule{}}
	for i, id := range ids {
		index[id] = i
		rule := sarifRule{ID: id, ShortDescription: sarifText{Text: id}, DefaultConfiguration: sarifRuleConf{Level: "warning"}}
		if info, ok := policy.LookupRule(id); ok {
			rule.ShortDescription.Text = info.Summary
			rule.DefaultConfiguration.Level = sarifLevel(info.Action)
		}
		driver.Rules = append(driver.Rules, rule)
	}
	run := sarifRun{Tool: sarifTool{Driver: driver}, Results: []sarifResult{}}
	for _, l := range ls {
		run.Results = append(run.Results, sarifResult{
			RuleID: l.Rule, RuleIndex: index[l.Rule], Level: sarifLevel(l.Action),
			Message: sarifText{Text: l.Message},
			Locations: []sarifLocation{{
				PhysicalLocation: &sarifPhysical{ArtifactLocation: sarifArtifact{URI: l.File}, Region: &sarifRegion{StartLine: max(l.Line, 1)}},
				LogicalLocations: []sarifLogical{{FullyQualifiedName: l.Object.String() + ":" + l.Path, Kind: "member"}},
			}},
		})
	}
	inv := sarifInvocation{ExecutionSuccessful: len(res.Errors) == 0, ExitCode: res.ExitCode(), ToolExecutionNotifications: []sarifNotification{}}
	for _, e := range res.Errors {
		n := sarifNotification{Level: "error", Message: sarifText{Text: errorText(e)},
			Locations: []sarifLocation{{PhysicalLocation: &sarifPhysical{ArtifactLocation: sarifArtifact{URI: e.Source}}}}}
		if e.Line > 0 {
			n.Locations[0].PhysicalLocation.Region = &sarifRegion{StartLine: e.Line}
		}
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, n)
	}
	run.Invocations = []sarifInvocation{inv}
	log := sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}
