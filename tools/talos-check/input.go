package main

// Input is what the program registers for a set of clusters (one case per stack).
type Input struct {
	Cases []Case `json:"cases"`
}

// Case is one cluster: its two config-generation invokes and every node's ConfigurationApply.
type Case struct {
	Name string `json:"name"`
	// Configs are the `talos:machine/getConfiguration:getConfiguration` invoke arguments by name
	// (the program registers one per role: "controlplane" and "worker").
	Configs map[string]ConfigArgs `json:"configs"`
	Nodes   []Node                `json:"nodes"`
}

// ConfigArgs are the invoke's arguments as registered (machineSecrets left out: the tool makes its own).
type ConfigArgs struct {
	ClusterName       string   `json:"clusterName"`
	ClusterEndpoint   string   `json:"clusterEndpoint"`
	MachineType       string   `json:"machineType"`
	TalosVersion      string   `json:"talosVersion"`
	KubernetesVersion string   `json:"kubernetesVersion"`
	ConfigPatches     []string `json:"configPatches"`
	Docs              bool     `json:"docs"`
	Examples          bool     `json:"examples"`
	// Origins says where each of ConfigPatches came from, in the same order.
	Origins []Origin `json:"origins"`
}

// Node is one `talos:machine/configurationApply:ConfigurationApply`.
type Node struct {
	Name string `json:"name"`
	// Config names the entry of Case.Configs whose output is the apply's machineConfigurationInput.
	Config        string   `json:"config"`
	ConfigPatches []string `json:"configPatches"`
	// Origins says where each of ConfigPatches came from, in the same order.
	Origins []Origin `json:"origins"`
}

// Origin names the stack setting or patch a registered patch carries, and its precedence level.
//
// Levels: 0 = a program default (anything may override it); 1 = stack-wide (a cluster setting or
// patches.all); 2 = per role (roles.<role> or patches.<role>); 3 = per node (nodes[i] settings or
// patches). A user-set value (level ≥ 1) may only be changed by a later patch of a higher level; anything
// else is a silent override.
type Origin struct {
	Source string `json:"source"`
	Level  int    `json:"level"`
}

// Report is the verdict for every node of every case.
type Report struct {
	Machinery string       `json:"machinery"`
	Cases     []CaseReport `json:"cases"`
}

// CaseReport is the verdict for one case.
type CaseReport struct {
	Name  string       `json:"name"`
	Nodes []NodeReport `json:"nodes"`
}

// NodeReport is the verdict for one node: empty lists mean Talos accepts its config as the user meant it.
type NodeReport struct {
	Name string `json:"name"`
	// Refusals: the provider fails to build the config, or the node refuses it.
	Refusals []Finding `json:"refusals"`
	// Warnings the node returns when it accepts the config (strict validation refuses them).
	Warnings []Finding `json:"warnings"`
	// Overrides: user-set values that something applied later changes or that never take effect.
	Overrides []Override `json:"overrides"`
	// Config is the finished configuration, with -configs only (its secrets are the tool's throwaway ones).
	Config string `json:"config,omitempty"`
}

// Finding is one refusal or warning, with the machinery version and the step that produced it.
type Finding struct {
	Machinery string `json:"machinery"`
	// Step: "generate" (the provider's invoke), "apply" (the provider's patching in ConfigurationApply),
	// "load" or "validate" (the node on apply).
	Step    string `json:"step"`
	Message string `json:"message"`
}

// Override is a user-set value that does not reach the node as set.
type Override struct {
	// Document is "v1alpha1" or "<kind>" / "<kind>/<name>".
	Document string `json:"document"`
	Path     string `json:"path"`
	Value    any    `json:"value"`
	SetBy    Origin `json:"setBy"`
	// OverriddenBy is the later patch that changed the value, or the one that makes it ineffective.
	OverriddenBy Origin `json:"overriddenBy"`
	// Now is the value in the final configuration (absent when the key is gone).
	Now any `json:"now,omitempty"`
	// Reason explains overrides that are not a plain change of the value.
	Reason string `json:"reason,omitempty"`
}

// ValidateInput is what `validate` reads: finished configs to validate as a node would.
type ValidateInput struct {
	Configs []ValidateConfig `json:"configs"`
}

// ValidateConfig is one finished machine configuration.
type ValidateConfig struct {
	ID     string `json:"id"`
	Config string `json:"config"`
}

// ValidateOutput is what `validate` writes: one result per config, by ID.
type ValidateOutput struct {
	Machinery string                  `json:"machinery"`
	Results   map[string]NodeFindings `json:"results"`
}

// NodeFindings are a node's refusals and warnings for one config.
type NodeFindings struct {
	Refusals []Finding `json:"refusals"`
	Warnings []Finding `json:"warnings"`
}
