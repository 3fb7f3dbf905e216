// Command talos-check judges the machine configurations the homelab Pulumi program registers with the
// real Talos machinery library: it regenerates each role's config as the Pulumi Talos provider v0.8.1
// does, applies each node's patches as its ConfigurationApply does, and validates the result as a node
// does on apply. It reports every config a node would refuse and every user-set value that something
// applied later overrides. The program itself stays TypeScript; this tool only runs in the tests.
//
// Usage:
//
//	talos-check check [-machinery-1.12 BINARY] [-configs] < input.json > report.json
//	talos-check validate < configs.json > results.json
//	talos-check version
//
// `check` takes the registrations (see input.go), `validate` takes finished configs and only validates
// them; a binary built against machinery v1.12 (go.1.12.mod) is used that way for Talos 1.12 targets.
// The exit status is 0 when the tool ran, whatever it found: callers read the report.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

const machineryModule = "github.com/siderolabs/talos/pkg/machinery"

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: talos-check check|validate|version"))
	}

	var err error

	switch os.Args[1] {
	case "check":
		flags := flag.NewFlagSet("check", flag.ExitOnError)
		also112 := flags.String("machinery-1.12", "", "talos-check binary built with machinery v1.12, to validate Talos 1.12 targets with too")
		configs := flags.Bool("configs", false, "include each node's finished config in the report (throwaway secrets)")
		_ = flags.Parse(os.Args[2:])
		err = runCheck(os.Stdin, os.Stdout, *also112, *configs)
	case "validate":
		err = runValidate(os.Stdin, os.Stdout)
	case "version":
		fmt.Println(machineryVersion())
	default:
		err = fmt.Errorf("unknown command %q: use check, validate or version", os.Args[1])
	}

	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "talos-check:", err)
	os.Exit(2)
}

// machineryVersion is the version of the Talos machinery module this binary was built with.
func machineryVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}

	for _, dep := range info.Deps {
		if dep.Path == machineryModule {
			if dep.Replace != nil {
				return dep.Replace.Version
			}

			return dep.Version
		}
	}

	return "unknown"
}

func readJSON(r io.Reader, into any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()

	return dec.Decode(into)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")

	return enc.Encode(v)
}
