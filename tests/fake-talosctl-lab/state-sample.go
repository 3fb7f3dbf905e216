// Writes the fixtures the lab's talosctl model is checked against, computed by talosctl's own code.
//
// "go run . state" writes state-v1.13.9.yaml.txt: a talosctl cluster state file (pkg/provision/state.go,
// State.Save) as the real code encodes it, for a QEMU lab of one control plane and one worker on talosctl's
// default network 10.5.0.0/24, with the names, addresses and endpoint talosctl gives them: names
// "<cluster>-controlplane-N" and "<cluster>-worker-N", the gateway at NthIPInNetwork(cidr, 1) and the machines
// from NthIPInNetwork(cidr, 2) on, control planes first (gatewayOffset and nodesOffset in
// cmd/talosctl/cmd/mgmt/cluster/create/clusterops/configmaker/internal/makers/common.go), the Kubernetes
// endpoint the load balancer on the gateway (pkg/provision/providers/qemu/qemu.go), the bridge "talos" + 8 hex
// digits of sha256(network name) (pkg/provision/providers/vm/network_linux.go).
//
// "go run . nth" writes nth-ip-v0.4.0.txt: NthIPInNetwork of github.com/siderolabs/net v0.4.0 (the version
// talos v1.13.9 requires) on prefixes parsed as talosctl parses --cidr (netip.ParsePrefix, not masked).
//
// Run it in the Go module that ../shared/tools/talosctl.sh sets up (it requires github.com/siderolabs/talos
// v1.13.9): copy ~/.cache/talosctl-v1.13.9/src/go.mod and go.sum and this file (as main.go) to a scratch
// directory, then "GOFLAGS=-mod=mod go run . state" and "GOFLAGS=-mod=mod go run . nth" there.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"os"

	"fmt"

	"github.com/google/uuid"
	sideronet "github.com/siderolabs/net"
	yaml "go.yaml.in/yaml/v4"

	"github.com/siderolabs/talos/pkg/machinery/config/machine"
	"github.com/siderolabs/talos/pkg/provision"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "nth" {
		nth()

		return
	}

	name := "homelab-lab"
	// makers/common.go: gatewayOffset = 1, nodesOffset = 2.
	at := func(n int) string {
		ip, err := sideronet.NthIPInNetwork(netip.MustParsePrefix("10.5.0.0/24"), n)
		if err != nil {
			panic(err)
		}

		return ip.String()
	}
	hash := sha256.Sum256([]byte(name))
	node := func(id, n string, t machine.Type, ip string) provision.NodeInfo {
		return provision.NodeInfo{
			ID: id, UUID: uuid.MustParse("00000000-0000-0000-0000-00000000000" + id), Name: n, Type: t,
			NanoCPUs: 2e9, Memory: 2 << 30, DiskSize: 10 << 30,
			IPs: []netip.Addr{netip.MustParseAddr(ip)}, APIPort: 50000,
		}
	}
	s := &provision.State{
		ProvisionerName: "qemu",
		BridgeName:      "talos" + hex.EncodeToString(hash[:])[:8],
		ClusterInfo: provision.ClusterInfo{
			ClusterName: name,
			Network: provision.NetworkInfo{
				Name:         name,
				CIDRs:        []netip.Prefix{netip.MustParsePrefix("10.5.0.0/24")},
				GatewayAddrs: []netip.Addr{netip.MustParseAddr(at(1))},
				MTU:          1500,
			},
			Nodes: []provision.NodeInfo{
				node("1", name+"-controlplane-1", machine.TypeControlPlane, at(2)),
				node("2", name+"-worker-1", machine.TypeWorker, at(3)),
			},
			KubernetesEndpoint: "https://" + at(1) + ":6443",
		},
	}
	// State.Save encodes &s (a **State) with yaml.NewEncoder; so does this.
	if err := yaml.NewEncoder(os.Stdout).Encode(&s); err != nil {
		panic(err)
	}
}

// nth prints "<prefix> <n> <address or error>" for the cases the lab's tests replay.
func nth() {
	cases := []struct {
		prefix string
		ns     []int
	}{
		{"10.5.0.0/24", []int{0, 1, 2, 3, 253, 254, 255, 256}},
		{"10.5.0.7/24", []int{1, 2, 248, 249}},
		{"192.168.100.0/29", []int{1, 2, 7, 8}},
		{"172.16.0.0/16", []int{2, 255, 256, 257, 65535, 65536}},
		{"10.0.0.0/31", []int{0, 1, 2}},
		{"10.255.255.252/30", []int{1, 2, 3, 4}},
	}
	for _, c := range cases {
		for _, n := range c.ns {
			ip, err := sideronet.NthIPInNetwork(netip.MustParsePrefix(c.prefix), n)
			if err != nil {
				fmt.Printf("%s %d error: %v\n", c.prefix, n, err)

				continue
			}

			fmt.Printf("%s %d %s\n", c.prefix, n, ip)
		}
	}
}
