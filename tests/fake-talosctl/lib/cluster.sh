# shellcheck shell=bash disable=SC2034 # ERR and REPLY are read by the callers
# The fake cluster's state and how a node answers a client, by the node's mode and Talos version (see the
# talosctl header for the state layout). Each behaviour names the Talos source it imitates.
: "${state:?the fake talosctl sets state}"

# State readers set REPLY (no subshells: every call of the fake stays a single process).
node_file() {
  REPLY=${3:-}
  if [[ -f $state/nodes/$1/$2 ]]; then IFS= read -r REPLY <"$state/nodes/$1/$2" || true; fi
}
node_mode() { node_file "$1" mode down; }
node_version() { node_file "$1" version; }
node_role() { node_file "$1" role worker; }
# The Kubernetes node name: the node's hostname (talos nodename controller), here its address unless set.
node_name() { node_file "$1" hostname "$1"; }
state_file() {
  [[ -f $state/$1 ]] || fake_bug "no $1 in $state"
  IFS= read -r REPLY <"$state/$1" || true
}
client_version() { state_file client-version; }

# True when NODE runs a Talos older than 1.13 (its maintenance mode is the separate pre-1.13 server).
before_1_13() {
  local re='^v?([0-9]+)\.([0-9]+)\.'
  node_version "$1"
  [[ $REPLY =~ $re ]] || fake_bug "not a version: '$REPLY'"
  ((10#${BASH_REMATCH[1]} * 100 + 10#${BASH_REMATCH[2]} < 113))
}

# The error functions below set ERR.

# gRPC dial failure as talosctl reports it (grpc-go "transport: Error while dialing").
dial_error() {
  ERR="rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial tcp $1:50000: connect: no route to host\""
}

# Sets ERR empty when a client holding the cluster's talosconfig reaches NODE's API, else to the error it
# gets. A node in maintenance mode serves a self-signed certificate (internal/app/machined/pkg/controllers/
# secrets maintenance_root.go), which the talosconfig's CA does not sign.
secure_error() {
  ERR=""
  node_mode "$1"
  case $REPLY in
  configured) ;;
  maintenance) ERR='rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"' ;;
  *) dial_error "$1" ;;
  esac
}

# Sets ERR empty when an insecure client (TLS, no client certificate: talosctl WithClientMaintenance) reaches
# NODE, else to the error. Outside maintenance mode apid requires a client certificate (talos@v1.13.9
# internal/app/machined/pkg/controllers/runtime/api_service_config.go: SkipVerifyingClientCert false).
insecure_error() {
  ERR=""
  node_mode "$1"
  case $REPLY in
  maintenance) ;;
  configured) ERR='rpc error: code = Unavailable desc = connection error: desc = "error reading server preface: remote error: tls: certificate required"' ;;
  *) dial_error "$1" ;;
  esac
}

# The answer to MachineService.Version over an insecure connection to a node in maintenance mode: Talos 1.13
# serves maintenance mode with its regular API and gives the client os:reader (authz.Injector
# ReadOnlyWithAdminOnSiderolink), and Version is a reader API (internal/app/machined/pkg/system/services/
# machined.go rules): it answers. Up to 1.12 a separate maintenance server answered Version, Upgrade, Reset,
# MetaWrite and MetaDelete with assertAdminRole's error to every non-SideroLink client
# (internal/app/maintenance/server.go; merged into the regular API in 1.13.0-beta.0, "feat: unify maintenance
# and regular APIs").
MAINTENANCE_UNIMPLEMENTED='rpc error: code = Unimplemented desc = API is not implemented in maintenance mode'
# What os:reader gets for an admin API in 1.13 (pkg/grpc/middleware/authz/authorizer.go ErrNotAuthorized).
NOT_AUTHORIZED='rpc error: code = PermissionDenied desc = not authorized'
maintenance_admin_error() {
  if before_1_13 "$1"; then ERR=$MAINTENANCE_UNIMPLEMENTED; else ERR=$NOT_AUTHORIZED; fi
}

# Prints the server part of `talosctl version` for NODE (cmd/talosctl/cmd/talos/version.go cmdVersion,
# pkg/machinery/version versionTemplate).
print_server_version() {
  node_version "$1"
  printf '\tNODE:        %s\n' "$1"
  printf '\tTag:         %s\n\tSHA:         0123abcd\n\tBuilt:       \n\tGo version:  go1.26.8\n\tOS/Arch:     linux/amd64\n' "$REPLY"
  printf '\tEnabled:     RBAC\n'
}

# True when Talos tag A is older than B (major.minor.patch; a pre-release before its release).
older_than() {
  local re='^v?([0-9]+)\.([0-9]+)\.([0-9]+)(-.*)?$' a b
  [[ $1 =~ $re ]] || return 1
  a=$((10#${BASH_REMATCH[1]} * 1000000 + 10#${BASH_REMATCH[2]} * 1000 + 10#${BASH_REMATCH[3]}))
  local apre=${BASH_REMATCH[4]}
  [[ $2 =~ $re ]] || return 1
  b=$((10#${BASH_REMATCH[1]} * 1000000 + 10#${BASH_REMATCH[2]} * 1000 + 10#${BASH_REMATCH[3]}))
  ((a < b)) || { ((a == b)) && [[ -n $apre && -z ${BASH_REMATCH[4]} ]]; }
}

# helpers.ClientVersionCheck (cmd/talosctl/pkg/talos/helpers/checks.go), run by get, the legacy upgrade and
# upgrade-k8s: warns on stderr when the node that answered Version runs an older Talos than the client.
client_version_check() {
  local node=$1 server client
  node_version "$node"
  server=$REPLY
  client_version
  client=$REPLY
  if older_than "$server" "$client"; then
    printf 'WARNING: %s: server version %s is older than client version %s\n' "$node" "${server#v}" "${client#v}" >&2
  fi
}

# The only node a command addresses (-n); commands the scripts run with several nodes are not emulated.
single_node() {
  [[ -n $NODES ]] || fake_bug "'talosctl $COMMAND' without -n/--nodes is not emulated"
  [[ $NODES != *,* ]] || fake_bug "'talosctl $COMMAND' with several nodes is not emulated"
}

# Opens a TCP connection to the Kubernetes API as talosctl's Kubernetes client would (the kubeconfig server is
# the cluster endpoint, here state/kube-endpoint); sets ERR as client-go words a refused connection for a
# request about node $2. Loopback only: the fake never dials anything else.
kube_api_error() {
  local endpoint host port
  state_file kube-endpoint
  endpoint=$REPLY host=${REPLY%:*} port=${REPLY##*:}
  [[ $host == 127.* ]] || fake_bug "kube-endpoint $endpoint is not a loopback address"
  ERR=""
  if ! (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
    ERR="Get \"https://$endpoint/api/v1/nodes/$2\": dial tcp $endpoint: connect: connection refused"
  fi
}
