package main

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strconv"

	"github.com/siderolabs/talos/pkg/machinery/config"
)

func runValidate(r io.Reader, w io.Writer) error {
	var in ValidateInput
	if err := readJSON(r, &in); err != nil {
		return fmt.Errorf("reading configs: %w", err)
	}

	return writeJSON(w, runValidateConfigs(in))
}

func runCheck(r io.Reader, w io.Writer, also112 string, withConfigs bool) error {
	var in Input
	if err := readJSON(r, &in); err != nil {
		return fmt.Errorf("reading registrations: %w", err)
	}

	report := Report{Machinery: machineryVersion(), Cases: make([]CaseReport, 0, len(in.Cases))}
	// Finished configs of Talos 1.12 targets, validated in one batch by the 1.12 binary afterwards.
	var for112 []ValidateConfig

	for ci, c := range in.Cases {
		cr := CaseReport{Name: c.Name, Nodes: make([]NodeReport, 0, len(c.Nodes))}
		roles := map[string]*roleConfig{}

		for ni, n := range c.Nodes {
			nr, final, err := checkNode(c, n, roles)
			if err != nil {
				return fmt.Errorf("case %q node %q: %w", c.Name, n.Name, err)
			}

			if withConfigs {
				nr.Config = string(final)
			}

			if final != nil && also112 != "" && isMinor(c.Configs[n.Config].TalosVersion, 1, 12) {
				for112 = append(for112, ValidateConfig{ID: strconv.Itoa(ci) + "/" + strconv.Itoa(ni), Config: string(final)})
			}

			cr.Nodes = append(cr.Nodes, nr)
		}

		report.Cases = append(report.Cases, cr)
	}

	if len(for112) > 0 {
		if err := validateWith(also112, for112, &report); err != nil {
			return err
		}
	}

	return writeJSON(w, report)
}

// roleConfig is one invoke's result (the config, or why the provider fails) and its patch-by-patch
// replay, computed once per case however many nodes use it.
type roleConfig struct {
	config []byte
	err    error
	steps  [][]byte
}

func roleConfigFor(c Case, name string, cache map[string]*roleConfig) (*roleConfig, error) {
	if rc, ok := cache[name]; ok {
		return rc, nil
	}

	args, ok := c.Configs[name]
	if !ok {
		return nil, fmt.Errorf("no config %q in the case", name)
	}

	if len(args.Origins) != len(args.ConfigPatches) {
		return nil, fmt.Errorf("config %q: every config patch needs an origin", name)
	}

	rc := &roleConfig{}
	rc.config, rc.err = generateConfig(args)

	if rc.err == nil {
		steps, err := generateSteps(args)
		if err != nil {
			return nil, fmt.Errorf("replaying the invoke: %w", err)
		}

		if !bytes.Equal(steps[len(steps)-1], rc.config) {
			return nil, fmt.Errorf("internal: replaying the invoke patch by patch gave another config than the invoke")
		}

		rc.steps = steps
	}

	cache[name] = rc

	return rc, nil
}

// checkNode builds the node's config as the provider does and validates it as the node does. It returns
// the finished config when the provider could build it.
func checkNode(c Case, n Node, roles map[string]*roleConfig) (NodeReport, []byte, error) {
	nr := NodeReport{Name: n.Name, Refusals: []Finding{}, Warnings: []Finding{}, Overrides: []Override{}}
	version := machineryVersion()

	if len(n.Origins) != len(n.ConfigPatches) {
		return nr, nil, fmt.Errorf("every config patch needs an origin")
	}

	rc, err := roleConfigFor(c, n.Config, roles)
	if err != nil {
		return nr, nil, err
	}

	if rc.err != nil {
		nr.Refusals = append(nr.Refusals, Finding{Machinery: version, Step: "generate", Message: rc.err.Error()})

		return nr, nil, nil
	}

	input := rc.config
	args := c.Configs[n.Config]

	final, err := applyPatches(input, n.ConfigPatches)
	if err != nil {
		nr.Refusals = append(nr.Refusals, Finding{Machinery: version, Step: "apply", Message: err.Error()})

		return nr, nil, nil
	}

	findings := validateAsNode(final)
	nr.Refusals = append(nr.Refusals, findings.Refusals...)
	nr.Warnings = append(nr.Warnings, findings.Warnings...)

	overrides, err := replay(args, rc.steps, n, final)
	if err != nil {
		return nr, nil, err
	}

	nr.Overrides = overrides

	return nr, final, nil
}

// replay applies the same patches one at a time and tracks every user-set value through them. The last
// step must equal what the provider produced in one go, or the replay is not what the provider does.
func replay(args ConfigArgs, roleSteps [][]byte, n Node, final []byte) ([]Override, error) {
	nodeSteps, err := applySteps(roleSteps[len(roleSteps)-1], n.ConfigPatches)
	if err != nil {
		return nil, fmt.Errorf("replaying the apply: %w", err)
	}

	if len(nodeSteps) > 0 && !bytes.Equal(nodeSteps[len(nodeSteps)-1], final) {
		return nil, fmt.Errorf("internal: replaying the apply patch by patch gave another config than the apply")
	}

	steps := slices.Concat(roleSteps[1:], nodeSteps)
	states := make([]documents, len(steps))

	for i, s := range steps {
		if states[i], err = parseDocuments(s); err != nil {
			return nil, err
		}
	}

	return trackOverrides(slices.Concat(args.ConfigPatches, n.ConfigPatches), slices.Concat(args.Origins, n.Origins), states), nil
}

func isMinor(version string, major, minor int) bool {
	contract, err := config.ParseContractFromVersion(version)

	return err == nil && contract.Major == major && contract.Minor == minor
}

// validateWith runs another talos-check binary's `validate` on the finished configs and adds its findings
// to the nodes they belong to.
func validateWith(binary string, configs []ValidateConfig, report *Report) error {
	var stdin, stdout bytes.Buffer

	if err := writeJSON(&stdin, ValidateInput{Configs: configs}); err != nil {
		return err
	}

	cmd := exec.Command(binary, "validate")
	cmd.Stdin = &stdin
	cmd.Stdout = &stdout

	var stderr bytes.Buffer
	cmd.Stderr = &stderr

	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s validate: %w: %s", binary, err, stderr.String())
	}

	var out ValidateOutput
	if err := readJSON(&stdout, &out); err != nil {
		return fmt.Errorf("reading %s validate: %w", binary, err)
	}

	for id, findings := range out.Results {
		var ci, ni int
		if _, err := fmt.Sscanf(id, "%d/%d", &ci, &ni); err != nil {
			return fmt.Errorf("unexpected result id %q", id)
		}

		node := &report.Cases[ci].Nodes[ni]
		node.Refusals = append(node.Refusals, findings.Refusals...)
		node.Warnings = append(node.Warnings, findings.Warnings...)
	}

	return nil
}
