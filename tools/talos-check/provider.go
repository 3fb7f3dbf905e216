package main

// What the Pulumi Talos provider v0.8.1 does with the program's registrations. The provider wraps
// siderolabs/terraform-provider-talos v0.11.0 (pulumiverse/pulumi-talos@v0.8.1:provider/go.mod), which
// builds with machinery v1.13.0; go.mod pins the same.

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/siderolabs/talos/pkg/machinery/config"
	"github.com/siderolabs/talos/pkg/machinery/config/bundle"
	"github.com/siderolabs/talos/pkg/machinery/config/configpatcher"
	"github.com/siderolabs/talos/pkg/machinery/config/encoder"
	"github.com/siderolabs/talos/pkg/machinery/config/generate"
	"github.com/siderolabs/talos/pkg/machinery/config/generate/secrets"
	"github.com/siderolabs/talos/pkg/machinery/config/machine"
	"github.com/siderolabs/talos/pkg/machinery/constants"
	"github.com/siderolabs/talos/pkg/machinery/gendata"
)

// installerImage is terraform-provider-talos v0.11.0 pkg/talos/util.go GenerateInstallerImage: the
// installer of the machinery the provider was built with (ghcr.io/siderolabs/installer:v1.13.0).
func installerImage() string {
	return fmt.Sprintf("%s/%s/installer:%s", gendata.ImagesRegistry, gendata.ImagesUsername, gendata.VersionTag)
}

// secretsCache holds one throwaway secrets bundle per version contract: the program's secrets are never
// read, and any valid bundle generates the same shape of config.
var secretsCache sync.Map

func secretsFor(contract *config.VersionContract) (*secrets.Bundle, error) {
	if b, ok := secretsCache.Load(contract.String()); ok {
		return b.(*secrets.Bundle), nil
	}

	b, err := secrets.NewBundle(secrets.NewFixedClock(time.Now()), contract)
	if err != nil {
		return nil, err
	}

	secretsCache.Store(contract.String(), b)

	return b, nil
}

// generateOptions are terraform-provider-talos v0.11.0 pkg/talos/util.go
// machineConfigGenerateOptions.generate: the "default gen options" (cluster discovery on, the default DNS
// domain, install disk /dev/sda, the installer image above, the secrets bundle) plus the version contract
// parsed from the invoke's talosVersion (validateVersionContract → config.ParseContractFromVersion).
func generateOptions(args ConfigArgs) ([]bundle.Option, machine.Type, error) {
	machineType, err := machine.ParseType(args.MachineType)
	if err != nil {
		return nil, machineType, err
	}

	contract, err := config.ParseContractFromVersion(args.TalosVersion)
	if err != nil {
		return nil, machineType, err
	}

	sb, err := secretsFor(contract)
	if err != nil {
		return nil, machineType, err
	}

	genOptions := []generate.Option{
		generate.WithClusterDiscovery(true),
		generate.WithDNSDomain(constants.DefaultDNSDomain),
		generate.WithInstallDisk("/dev/sda"),
		generate.WithInstallImage(installerImage()),
		generate.WithSecretsBundle(sb),
		generate.WithVersionContract(contract),
	}

	return []bundle.Option{
		bundle.WithInputOptions(&bundle.InputOptions{
			ClusterName: args.ClusterName,
			Endpoint:    args.ClusterEndpoint,
			KubeVersion: strings.TrimPrefix(args.KubernetesVersion, "v"),
			GenOptions:  genOptions,
		}),
		bundle.WithVerbose(false),
	}, machineType, nil
}

// commentsFlags is util.go's choice of comments for docs/examples (the program turns both off).
func commentsFlags(args ConfigArgs) encoder.CommentsFlags {
	flags := encoder.CommentsDisabled

	if args.Docs {
		flags |= encoder.CommentsDocs
	}

	if args.Examples {
		flags |= encoder.CommentsExamples
	}

	return flags
}

// generateConfig is the invoke (util.go machineConfigGenerateOptions.generate): the patches are loaded
// with configpatcher.LoadPatches and handed to the bundle as control-plane or worker patches, the bundle
// is generated and the role's config serialized.
func generateConfig(args ConfigArgs) ([]byte, error) {
	opts, machineType, err := generateOptions(args)
	if err != nil {
		return nil, err
	}

	patches, err := configpatcher.LoadPatches(args.ConfigPatches)
	if err != nil {
		return nil, fmt.Errorf("error parsing config patch: %w", err)
	}

	switch machineType { //nolint:exhaustive
	case machine.TypeControlPlane:
		opts = append(opts, bundle.WithPatchControlPlane(patches))
	case machine.TypeWorker:
		opts = append(opts, bundle.WithPatchWorker(patches))
	}

	b, err := bundle.NewBundle(opts...)
	if err != nil {
		return nil, err
	}

	return b.Serialize(commentsFlags(args), machineType)
}

// applyPatches is the ConfigurationApply patch path (terraform-provider-talos v0.11.0
// pkg/talos/talos_machine_configuration_apply_resource.go computeMachineConfiguration, and the same
// steps in ModifyPlan): configpatcher.LoadPatches over configPatches, configpatcher.Apply to the
// machineConfigurationInput bytes, then Bytes(). The result is what the provider sends to the node.
func applyPatches(input []byte, configPatches []string) ([]byte, error) {
	patches, err := configpatcher.LoadPatches(configPatches)
	if err != nil {
		return nil, fmt.Errorf("error loading config patches: %w", err)
	}

	cfg, err := configpatcher.Apply(configpatcher.WithBytes(input), patches)
	if err != nil {
		return nil, fmt.Errorf("error applying config patches: %w", err)
	}

	return cfg.Bytes()
}

// generateSteps replays the invoke one patch at a time, as bundle.ApplyPatches applies its list (one
// configpatcher.Apply per patch on the config), returning the serialized config after the bare generation
// and after each patch. It fails where the invoke would.
func generateSteps(args ConfigArgs) ([][]byte, error) {
	opts, machineType, err := generateOptions(args)
	if err != nil {
		return nil, err
	}

	b, err := bundle.NewBundle(opts...)
	if err != nil {
		return nil, err
	}

	cfg := b.ControlPlane()
	if machineType == machine.TypeWorker {
		cfg = b.Worker()
	}

	steps := make([][]byte, 0, len(args.ConfigPatches)+1)

	encode := func(c config.Provider) error {
		out, encodeErr := c.EncodeBytes(encoder.WithComments(commentsFlags(args)))
		steps = append(steps, out)

		return encodeErr
	}

	if err = encode(cfg); err != nil {
		return nil, err
	}

	for _, text := range args.ConfigPatches {
		p, loadErr := configpatcher.LoadPatch([]byte(text))
		if loadErr != nil {
			return nil, loadErr
		}

		out, applyErr := configpatcher.Apply(configpatcher.WithConfig(cfg), []configpatcher.Patch{p})
		if applyErr != nil {
			return nil, applyErr
		}

		if cfg, err = out.Config(); err != nil {
			return nil, err
		}

		if err = encode(cfg); err != nil {
			return nil, err
		}
	}

	return steps, nil
}

// applySteps replays the apply one patch at a time (configpatcher.Apply on bytes per patch), returning
// the config after each patch.
func applySteps(input []byte, configPatches []string) ([][]byte, error) {
	steps := make([][]byte, 0, len(configPatches))
	current := input

	for _, text := range configPatches {
		next, err := applyPatches(current, []string{text})
		if err != nil {
			return nil, err
		}

		steps = append(steps, next)
		current = next
	}

	return steps, nil
}
