package main

// What a Talos node does with a configuration it is sent: talos@v1.13.9
// internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go (*Server).ApplyConfiguration loads it
// with configloader.NewFromBytes, refuses a config without the v1alpha1 document, and validates it with
// Validate in the platform's mode; an error is returned to the client as InvalidArgument.

import (
	"strings"

	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/config/validation"
)

// metalMode is the node's validation mode for a bare-metal machine booted from the ISO and not yet
// installed: runtime.ModeMetal (RequiresInstall true, InContainer false; talos@v1.13.9
// internal/app/machined/pkg/runtime/mode.go) wrapped by v1alpha1_server.go modeWrapper with installed=false,
// the first apply, when the install section is checked too.
type metalMode struct{}

func (metalMode) String() string        { return "metal" }
func (metalMode) RequiresInstall() bool { return true }
func (metalMode) InContainer() bool     { return false }

// validateAsNode returns what a node refuses (load or validation errors) and the warnings it returns when
// it accepts. Strict validation (validation.WithStrict) refuses exactly those warnings as well.
func validateAsNode(data []byte) NodeFindings {
	version := machineryVersion()
	findings := NodeFindings{Refusals: []Finding{}, Warnings: []Finding{}}

	cfg, err := configloader.NewFromBytes(data)
	if err != nil {
		findings.Refusals = append(findings.Refusals, Finding{Machinery: version, Step: "load", Message: err.Error()})

		return findings
	}

	if cfg.RawV1Alpha1() == nil {
		findings.Refusals = append(findings.Refusals, Finding{
			Machinery: version,
			Step:      "load",
			Message:   "the applied machine configuration doesn't contain v1alpha1 config",
		})

		return findings
	}

	warnings, err := cfg.Validate(metalMode{})
	if err != nil {
		for _, message := range errorLines(err) {
			findings.Refusals = append(findings.Refusals, Finding{Machinery: version, Step: "validate", Message: message})
		}
	}

	for _, w := range warnings {
		findings.Warnings = append(findings.Warnings, Finding{Machinery: version, Step: "validate", Message: w})
	}

	if err == nil && len(warnings) > 0 {
		if _, strictErr := cfg.Validate(metalMode{}, validation.WithStrict()); strictErr == nil {
			// Strict mode turns every warning into an error; if it did not, this tool misreads Validate.
			findings.Refusals = append(findings.Refusals, Finding{
				Machinery: version, Step: "validate", Message: "internal: strict validation accepted a config with warnings",
			})
		}
	}

	return findings
}

// errorLines flattens the machinery's nested multierrors into one line per problem.
func errorLines(err error) []string {
	var lines []string

	for line := range strings.SplitSeq(err.Error(), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "*"))
		if line == "" || strings.HasSuffix(line, "error occurred:") || strings.HasSuffix(line, "errors occurred:") {
			continue
		}

		lines = append(lines, line)
	}

	if len(lines) == 0 {
		return []string{err.Error()}
	}

	return lines
}

func runValidateConfigs(in ValidateInput) ValidateOutput {
	out := ValidateOutput{Machinery: machineryVersion(), Results: map[string]NodeFindings{}}

	for _, c := range in.Configs {
		out.Results[c.ID] = validateAsNode([]byte(c.Config))
	}

	return out
}
